"""The application factory: wiring only."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask_appbuilder import AppBuilder
from jinja2 import StrictUndefined

from app.extensions import csrf, db, mail, migrate
from app.steering import rollups
from config import BASE_DIR, load_settings

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
    if app.config.get("STRICT_TEMPLATES"):
        app.jinja_env.undefined = StrictUndefined
    for folder in (app.config["DATA_DIR"], app.config["ATTACHMENT_DIR"]):
        Path(folder).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    rollups.install()
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    mail.init_app(app)
    csrf.init_app(app)

    from app.fab import guard as fabguard
    from app.fab.security import EContactsSecurityManager
    from app.platform import errors, headers, querycount, queue, templating

    headers.init_app(app)
    queue.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    querycount.init_app(app)
    fabguard.init_app(app)

    with app.app_context():
        appbuilder = AppBuilder(security_manager_class=EContactsSecurityManager)
        appbuilder.indexview = _index_view()
        appbuilder.base_template = "agent/base.html"
        appbuilder.init_app(app, db.session)
        from views import register_views

        register_views(app, appbuilder)

    from app.cli import register_cli

    register_cli(app)
    return app


def _index_view() -> type:
    from views.agent.home import AgentIndexView

    return AgentIndexView
