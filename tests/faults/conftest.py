"""Fixtures of the fault tests (``make faults``).

They run only when ``ECONTACTS_FAULTS=1`` (``make faults`` sets it): they start and kill servers
and take a few minutes. Servers they stop are their own: an SMTP server (aiosmtpd), a
redis-server and a PostgreSQL cluster started for the session on free ports. The machine's shared
PostgreSQL and Redis (``DATABASE_URL``/``REDIS_URL``) are used, never stopped.

Fixture names start with ``fault_`` or ``private_`` so that they never shadow those of
``tests/conftest.py``.
"""

from __future__ import annotations

import gc
import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultkit import ControlledSmtp, PrivateDatabase, PrivatePostgres, PrivateRedis, Proc
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.engine import Engine

from app import create_app
from models import db

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("ECONTACTS_FAULTS") == "1":
        return
    skip = pytest.mark.skip(reason="fault tests: run them with `make faults` (ECONTACTS_FAULTS=1)")
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(skip)


def _overrides(app: Flask, **extra: object) -> dict[str, object]:
    keys = (
        "TESTING", "ECONTACTS_ENV", "DEMO_MODE", "STRICT_TEMPLATES", "SQLALCHEMY_DATABASE_URI",
        "DATA_DIR", "ATTACHMENT_DIR", "REDIS_URL", "RQ_QUEUE", "SERVER_NAME",
    )  # fmt: skip
    values: dict[str, object] = {key: app.config[key] for key in keys}
    values.update({"MAIL_SERVER": "127.0.0.1", "MAIL_SUPPRESS_SEND": False})
    values.update(extra)
    return values


@pytest.fixture
def fault_procs() -> Iterator[list[Proc]]:
    """The app servers and workers a test starts (append them): SIGKILLed at its end."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.kill()


@pytest.fixture(scope="session")
def fault_smtp() -> Iterator[ControlledSmtp]:
    smtp = ControlledSmtp()
    try:
        yield smtp
    finally:
        smtp.down()


@pytest.fixture(autouse=True)
def _fault_smtp_reset(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "fault_smtp" in request.fixturenames:
        smtp: ControlledSmtp = request.getfixturevalue("fault_smtp")
        smtp.clear()
        smtp.up()


@pytest.fixture(scope="session")
def fault_app(app: Flask, fault_smtp: ControlledSmtp) -> Flask:
    """The session's app (same database, Redis and queue), sending through ``fault_smtp``."""
    other = create_app(_overrides(app, MAIL_PORT=fault_smtp.port))
    other.test_client_class = app.test_client_class
    return other


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def fault_redis_app(
    app: Flask, fault_smtp: ControlledSmtp, private_redis: PrivateRedis
) -> Iterator[Flask]:
    """The session's database, but a Redis of our own that the test may kill."""
    if not private_redis.answers():
        private_redis.start()
    other = create_app(
        _overrides(
            app,
            MAIL_PORT=fault_smtp.port,
            REDIS_URL=private_redis.url,
            RQ_QUEUE=f"faults-{uuid.uuid4().hex[:8]}",
        )
    )
    other.test_client_class = app.test_client_class
    yield other
    if not private_redis.answers():
        private_redis.start()


@pytest.fixture(scope="session")
def private_postgres(
    tmp_path_factory: pytest.TempPathFactory, fault_smtp: ControlledSmtp
) -> Iterator[PrivateDatabase]:
    """A PostgreSQL cluster of our own (we restart it), with the schema built by migrations."""
    server = PrivatePostgres()
    server.start()
    try:
        name = "econtacts_faults_private"
        server.psql(f"CREATE DATABASE {name}")
        data_dir = tmp_path_factory.mktemp("private_pg_data")
        pg_app = create_app(
            {
                "TESTING": True,
                "ECONTACTS_ENV": "test",
                "SQLALCHEMY_DATABASE_URI": server.url(name),
                "DATA_DIR": str(data_dir),
                "ATTACHMENT_DIR": str(data_dir / "attachments"),
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": fault_smtp.port,
                "MAIL_SUPPRESS_SEND": False,
                "RQ_QUEUE": f"faults-{uuid.uuid4().hex[:8]}",
            }
        )
        with pg_app.app_context():
            upgrade()
            pg_app.appbuilder.sm.sync_roles()  # type: ignore[attr-defined]
            db.session.commit()
        yield PrivateDatabase(server, name, pg_app)
        with pg_app.app_context():
            db.engine.dispose()
    finally:
        server.destroy()


@pytest.fixture(scope="session", autouse=True)
def _close_what_the_faults_left() -> Iterator[None]:
    """The fault tests kill servers under open connections on purpose: at the end, close every
    pool and let the connections orphaned by a killed PostgreSQL go quietly, so that their
    ResourceWarning at garbage collection does not fail the session."""
    yield
    for candidate in gc.get_objects():
        if isinstance(candidate, Engine):
            candidate.dispose()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
