"""Helpers for HTTP tests: CSRF tokens from the page, logins per population, running jobs."""

from __future__ import annotations

import re
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from factories import World
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from rq import Queue
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from app.platform import sessions
from app.platform.queue import get_redis
from app.platform.ratelimit import PREFIX
from models import Agent, Notification, Taxpayer, db

# A production environment that start-up accepts (config.check_production); tests remove one
# piece at a time.
PRODUCTION_ENV = {
    "ECONTACTS_ENV": "production",
    "SECRET_KEY": "production-test-key-" + "x" * 40,
    "DEMO_MODE": "false",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "MAIL_SERVER": "smtp.example.test",
    "CLAMD_ADDRESS": "127.0.0.1:3310",
    "TRUSTED_PROXIES": "1",
}


def assert_refused(response: Any, who: object = "", *, csrf_refused: bool = False) -> None:
    """A route refused to someone: FAB's refusal (a redirect to the login page), 403 or 404;
    ``csrf_refused``: also 400, a POST carrying another session's CSRF token."""
    allowed = {302, 403, 404} | ({400} if csrf_refused else set())
    assert response.status_code in allowed, (who, response.status_code)
    if response.status_code == 302:
        location = response.headers["Location"]
        assert "/login/" in location or "connexion" in location, (who, location)


def assert_refused_to_each(
    clients: dict[str, FlaskClient], page: str, action: str, token: str, hidden: str
) -> None:
    """Each of ``clients`` (by who they are) is refused the ``page`` (which does not show
    ``hidden``) and the POST ``action`` (carrying ``token``, another session's CSRF token)."""
    for who, client in clients.items():
        response = client.get(page)
        assert_refused(response, who)
        assert hidden not in response.get_data(as_text=True), who
        assert_refused(client.post(action, data={"csrf_token": token}), who, csrf_refused=True)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (scripts and tests never use fixed ports)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token of the form on ``url`` (as a browser would get it)."""
    response = client.get(url)
    match = _CSRF.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url} (status {response.status_code})"
    return match.group(1)


def submit_form(client: FlaskClient, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """GET the form page then POST to it with its token, like a person filling it in."""
    payload = {"csrf_token": csrf_token(client, url), **data}
    return client.post(url, data=payload, **kwargs)


def session_csrf_token(app: Flask, client: FlaskClient) -> str:
    """A valid CSRF token for ``client`` without fetching a page: its session gets a fresh raw
    token and the form value is that token signed as Flask-WTF signs it."""
    raw = secrets.token_hex(20)
    with client.session_transaction() as session:
        session["csrf_token"] = raw
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token").dumps(raw)


def open_server_session(client: FlaskClient, **owner: Agent | Taxpayer) -> str:
    """A live server-side session (app.platform.sessions) for ``agent=`` or ``taxpayer=``,
    committed and cached as a real sign-in leaves it; returns the cookie's token. The test's own
    rows are committed first: SQLite takes one writer at a time, and the session is written from
    another connection."""
    if has_app_context():
        session = db.session()
        expire, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = expire
    with client.application.app_context():
        token = sessions.open_session(**owner)  # type: ignore[arg-type]
        db.session.commit()
        sessions.remember_live(token)
    return token


def sign_in_taxpayer(client: FlaskClient, taxpayer: Taxpayer) -> FlaskClient:
    token = open_server_session(client, taxpayer=taxpayer)
    with client.session_transaction() as session:
        session["taxpayer_id"] = taxpayer.id
        session[sessions.TAXPAYER_SID] = token
    return client


def sign_in_agent(client: FlaskClient, agent: Agent) -> FlaskClient:
    """Flask-Login's session keys for an agent who passed both factors, and a live
    server-side session."""
    token = open_server_session(client, agent=agent)
    with client.session_transaction() as session:
        session["_user_id"] = str(agent.id)
        session["_fresh"] = True
        session["mfa_ok"] = True
        session[sessions.AGENT_SID] = token
    return client


def sign_in_as(client: FlaskClient, role: str, world: World) -> FlaskClient:
    """Sign ``client`` in as a role of the role tests: anon (left as is), tp_a, tp_b, agent_a,
    agent_b, manager, steering, admin (the people of ``world``)."""
    if role == "anon":
        return client
    if role in ("tp_a", "tp_b"):
        return sign_in_taxpayer(client, world.taxpayer_a if role == "tp_a" else world.taxpayer_b)
    agents = {
        "agent_a": world.agent_a,
        "agent_b": world.agent_b,
        "manager": world.manager_a,
        "steering": world.steering_other,
        "admin": world.admin,
    }
    return sign_in_agent(client, agents[role])


_ENROLMENT_LINK = re.compile(r"https?://[^/\s]+(/login/enrolement/\S+)")


def enrolment_link(app: Flask, username: str) -> str:
    """The path of the last enrolment link e-mailed to this agent (read from the outbox)."""
    with app.app_context():
        agent = db.session.scalar(select(Agent).where(Agent.username == username))
        assert agent is not None
        body = db.session.scalar(
            select(Notification.body)
            .where(Notification.recipient == agent.email)
            .order_by(Notification.id.desc())
            .limit(1)
        )
    match = _ENROLMENT_LINK.search(body or "")
    assert match, f"no enrolment link e-mailed to {username}"
    return match.group(1)


def open_enrolment_link(client: FlaskClient, username: str) -> None:
    """After the password: the agent opens the e-mailed link in the same browser."""
    assert 'id="enrolment-sent"' in client.get("/login/otp").get_data(as_text=True)
    response = client.get(enrolment_link(client.application, username))
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/otp")


def clear_rate_limits(app: Flask) -> None:
    """Forget every rate-limit counter (they live in Redis, across tests)."""
    with app.app_context():
        redis = get_redis()
        for key in redis.scan_iter(f"{PREFIX}*"):
            redis.delete(key)


def run_jobs(app: Flask) -> int:
    """Run every queued job now, in this process, with the real RQ worker class."""
    from jobs.worker import AppWorker

    with app.app_context():
        queue = Queue(app.config["RQ_QUEUE"], connection=get_redis())
        count = queue.count
        AppWorker.flask_app = app
        AppWorker([queue], connection=get_redis()).work(burst=True, with_scheduler=False)
    return count


@contextmanager
def count_queries(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run inside the block, on any session of the app (query-count tests)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def database_down(app: Flask, *, statements: int | None = None) -> Iterator[list[int]]:
    """Every SQL statement fails as if PostgreSQL were gone (``statements``: only that many)."""
    failed: list[int] = []

    def fail(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statements is None or len(failed) < statements:
            failed.append(1)
            raise OperationalError(statement, {}, Exception("server closed the connection"))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", fail)
    try:
        yield failed
    finally:
        event.remove(engine, "before_cursor_execute", fail)
