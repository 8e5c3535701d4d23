"""Database hooks: SQLAlchemy event listeners are registered here, from the factory, never at
import time. ``listen_once`` keeps them single when the factory runs several times (the tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import Mapper

from models import Attachment, Message, Notification
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


def _carry_message_created_at(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    """An attachment or an outbox row carries its message's ``created_at``, the message's
    partition key (the composite foreign key, docs/decisions/0021): taken from the message
    object when the row was made with it, read from the base otherwise."""
    if target.message_id is None or target.message_created_at is not None:
        return
    message = target.__dict__.get("message")
    if isinstance(message, Message) and message.created_at is not None:
        target.message_created_at = message.created_at
        return
    target.message_created_at = connection.scalar(
        select(Message.created_at).where(Message.id == target.message_id)
    )


def install() -> None:
    """Every new SQLite connection gets its pragmas (PostgreSQL connections are left alone);
    the rows pointing at a message carry its partition key."""
    listen_once(Engine, "connect", _sqlite_pragmas)
    for model in (Attachment, Notification):
        listen_once(model, "before_insert", _carry_message_created_at)


def current_store() -> str | None:
    """The bind this context's session is sent to as a whole (``"training"`` in the training
    mode, docs/decisions/0020), or None for the real database. Per-process copies, Redis keys
    and queued jobs are kept apart by it."""
    store = db.session.info.get(STORE_KEY)
    return store if isinstance(store, str) else None
