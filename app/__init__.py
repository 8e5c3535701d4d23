"""The application factory: wiring only (extensions, session listeners, FAB, views, commands)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask_appbuilder import AppBuilder
from jinja2 import StrictUndefined

import views
from app.cases import attachments, search
from app.cases.cli import orphans_command
from app.dev.cli import init_command, load_demo_command
from app.directory import operations as directory_operations
from app.extensions import csrf, db, mail, migrate
from app.fab import guard
from app.fab.cli import sync_roles_command
from app.mailbox.cli import mailbox_server_command
from app.notifications.cli import bounce_command
from app.platform import cache, errors, headers, passwords, querycount, queue, replica, templating
from app.platform import db as db_hooks
from app.platform.cli import register_cli
from app.retention.cli import partitions_command, retention_command
from app.steering import rollups
from app.steering.cli import rollups_command
from app.training import store as training_store
from app.training.cli import training_command
from config import BASE_DIR, load_settings
from jobs import cli as jobs_cli
from views import training
from views.agent import home

log = logging.getLogger(__name__)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build an app from the environment; ``overrides`` wins (tests use it)."""
    app = Flask(
        __name__,
        static_folder=str(BASE_DIR / "app" / "static"),
        template_folder=str(BASE_DIR / "app" / "templates"),
    )
    app.config.update(load_settings())
    if overrides:
        app.config.update(overrides)
    app.config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", passwords.fab_complexity_validator)
    if app.config.get("STRICT_TEMPLATES"):
        app.jinja_env.undefined = StrictUndefined
    for folder in (app.config["DATA_DIR"], app.config["ATTACHMENT_DIR"]):
        Path(folder).mkdir(parents=True, exist_ok=True)

    training_store.configure(app)  # the training store's bind (decision 0020)
    db.init_app(app)
    # Session and engine listeners, registered here and nowhere else (docs/architecture.md).
    db_hooks.install()
    attachments.install()
    cache.install()
    rollups.install()
    directory_operations.on_office_moved(rollups.office_moved)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    mail.init_app(app)
    csrf.init_app(app)

    headers.init_app(app)
    queue.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    querycount.init_app(app)
    replica.init_app(app)
    guard.init_app(app)
    training.init_app(app)

    with app.app_context():
        search.declare_full_text_indexes()  # PostgreSQL only
        appbuilder = AppBuilder(security_manager_class=views.SecurityManager)
        appbuilder.indexview = home.AgentIndexView
        appbuilder.base_template = "agent/base.html"
        appbuilder.init_app(app, db.session)
        templating.install_gettext(app)  # over Flask-Babel's, which FAB has just set up
        views.register_views(app, appbuilder)

    register_cli(
        app,
        sync_roles_command,
        init_command,
        load_demo_command,
        jobs_cli.sweep_command,
        retention_command,
        partitions_command,
        rollups_command,
        jobs_cli.status_command,
        orphans_command,
        bounce_command,
        training_command,
        mailbox_server_command,
    )
    return app
