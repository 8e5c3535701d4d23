"""Claiming a row of a work table (the outbox, the mailbox intake) for one attempt.

A row is due when it is pending, its ``next_attempt_at`` has come, and no live worker holds it
(no ``locked_at``, or one older than the caller's stale delay). A job claims it with one
conditional UPDATE that sets ``locked_at`` and counts the attempt, committed at once in its own
short transaction: of two workers claiming the same row, the database lets one UPDATE match
(PostgreSQL locks the row and re-checks the condition once the other commits; SQLite writes one
at a time), the other finds nothing to claim and skips it.

The stale delay is passed in by each caller at each call (``jobs.notifications.LOCK_STALE_AFTER``,
``jobs.mailbox.LOCK_STALE_AFTER``), so that each stays its own setting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.orm import InstrumentedAttribute

from models import db, utcnow


class WorkRow(Protocol):
    """The columns a claimable table has."""

    id: InstrumentedAttribute[int]
    status: InstrumentedAttribute[Any]
    next_attempt_at: InstrumentedAttribute[datetime]
    locked_at: InstrumentedAttribute[datetime | None]
    attempts: InstrumentedAttribute[int]


Row = TypeVar("Row")


def is_due(
    model: type[WorkRow], pending: Enum, now: datetime, stale_after: timedelta
) -> ColumnElement[bool]:
    """Pending, its time come, and not held by a live worker (no lock, or a stale one)."""
    return and_(
        model.status == pending,
        model.next_attempt_at <= now,
        or_(model.locked_at.is_(None), model.locked_at < now - stale_after),
    )


def claim_row(
    model: type[Row], row_id: int, due: Callable[[datetime], ColumnElement[bool]]
) -> Row | None:
    """Lock the row and count one more attempt if ``due(now)`` holds for it, and commit.
    Returns the row, or None when it is not due (done, not yet, or held by another worker)."""
    now = utcnow()
    table: Any = model
    claimed = db.session.execute(
        update(table)
        .where(table.id == row_id, due(now))
        .values(locked_at=now, attempts=table.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return db.session.get(model, row_id)
