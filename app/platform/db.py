"""Database hooks: SQLAlchemy event listeners are registered here, from the factory, never at
import time. ``listen_once`` keeps them single when the factory runs several times (the tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

from models.base import STORE_KEY, db


def listen_once(target: Any, identifier: str, fn: Callable[..., Any]) -> None:
    """``event.listen`` unless ``fn`` already listens there."""
    if not event.contains(target, identifier, fn):
        event.listen(target, identifier, fn)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite enforces foreign keys only when asked; WAL lets readers work during a write."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def install() -> None:
    """Every new SQLite connection gets its pragmas (PostgreSQL connections are left alone)."""
    listen_once(Engine, "connect", _sqlite_pragmas)


def current_store() -> str | None:
    """The bind this context's session is sent to as a whole (``"training"`` in the training
    mode, docs/decisions/0020), or None for the real database. Per-process copies, Redis keys
    and queued jobs are kept apart by it."""
    store = db.session.info.get(STORE_KEY)
    return store if isinstance(store, str) else None
