"""Helpers for HTTP tests: CSRF tokens from the page, logins per population, running jobs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from rq import Queue
from sqlalchemy import event

from app.queue import get_redis
from models import Agent, Taxpayer, db

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


def sign_in_taxpayer(client: FlaskClient, taxpayer: Taxpayer) -> FlaskClient:
    with client.session_transaction() as session:
        session["taxpayer_id"] = taxpayer.id
    return client


def sign_in_agent(client: FlaskClient, agent: Agent) -> FlaskClient:
    """Flask-Login's session keys for an agent who passed both factors."""
    with client.session_transaction() as session:
        session["_user_id"] = str(agent.id)
        session["_fresh"] = True
        session["mfa_ok"] = True
    return client


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
