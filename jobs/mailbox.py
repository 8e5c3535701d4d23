"""Processing the e-mails the mailbox endpoint accepted (app.mailbox.intake).

As for the outbox (jobs.notifications): a row is claimed under a lock in its own short
transaction, processed and committed in one transaction. What can go wrong:

- the worker is killed while processing: nothing of the case was committed, the row stays
  pending with a lock that goes stale, and the sweep queues it again (at most one case per row:
  the case and the row's status commit together);
- two copies of a Message-ID processed at once: the unique ``dedupe_key`` fails the second commit,
  which is then marked a duplicate;
- the attachment store or the antivirus is down (``StorageUnavailable``), or anything else fails:
  the row is released with a backoff and tried again; after ``MAX_ATTEMPTS`` it is marked failed
  (kept, raw message included, for an administrator: « Courriels en échec », where
  « Relancer le traitement » queues this job again).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from rq.job import Job
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError

from app.mailbox import intake
from app.platform.queue import JOB_TIMEOUT, get_queue
from jobs import claims
from jobs.context import get_app
from jobs.notifications import WAITING_JOB, backoff
from models import InboundEmail, InboundStatus, db, utcnow

log = logging.getLogger(__name__)

LOCK_STALE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 12


def _is_due(now: datetime) -> ColumnElement[bool]:
    return claims.is_due(InboundEmail, InboundStatus.PENDING, now, LOCK_STALE_AFTER)


def process_inbound(inbound_id: int) -> str:
    """Process one accepted e-mail if it is still due; returns what happened."""
    with get_app().app_context():
        row = claims.claim_row(InboundEmail, inbound_id, _is_due)
        if row is None:
            return "skipped"
        try:
            outcome = intake.process(row)
            db.session.commit()
        except IntegrityError:  # another copy of the same Message-ID committed first
            db.session.rollback()
            return _mark_duplicate(inbound_id)
        except Exception as error:
            db.session.rollback()
            return _attempt_failed(inbound_id, error)
        log.info("inbound e-mail %s: %s", inbound_id, outcome)
        return outcome


def _mark_duplicate(inbound_id: int) -> str:
    now = utcnow()
    db.session.execute(
        update(InboundEmail)
        .where(InboundEmail.id == inbound_id)
        .values(
            status=InboundStatus.DUPLICATE,
            raw=None,
            locked_at=None,
            processed_at=now,
            last_error=None,
        )
    )
    db.session.commit()
    return "duplicate"


def _attempt_failed(inbound_id: int, error: BaseException) -> str:
    row = db.session.get(InboundEmail, inbound_id)
    assert row is not None
    reason = f"{type(error).__name__}: {error}"[:2000]
    row.locked_at = None
    row.last_error = reason
    if row.attempts >= MAX_ATTEMPTS:
        row.status = InboundStatus.FAILED
        outcome = "failed"
    else:
        row.next_attempt_at = utcnow() + backoff(row.attempts)
        outcome = "retry"
    db.session.commit()
    log.warning("inbound e-mail %s not processed (%s): %s", inbound_id, outcome, reason)
    return outcome


def due_inbound(limit: int = 200) -> list[tuple[int, int, bool]]:
    """(id, attempts, stale lock) of the e-mails due now, oldest first."""
    now = utcnow()
    rows = db.session.execute(
        select(InboundEmail.id, InboundEmail.attempts, InboundEmail.locked_at)
        .where(_is_due(now))
        .order_by(InboundEmail.next_attempt_at)
        .limit(limit)
    ).all()
    return [(row.id, row.attempts, row.locked_at is not None) for row in rows]


def sweep_inbound() -> int:
    """Queue every due e-mail that no RQ job is waiting for (Redis lost it, a worker died).
    Raises ``redis.RedisError`` if Redis is unreachable."""
    with get_app().app_context():
        due = due_inbound()
        db.session.rollback()
        if not due:
            return 0
        queue = get_queue()
        ids = [intake.job_id(inbound_id, attempts) for inbound_id, attempts, _s in due]
        jobs = Job.fetch_many(ids, connection=queue.connection)
        queued = 0
        for (inbound_id, attempts, stale_lock), job in zip(due, jobs, strict=True):
            if job is not None and not stale_lock and job.get_status(refresh=False) in WAITING_JOB:
                continue
            queue.enqueue(
                process_inbound,
                inbound_id,
                job_id=intake.job_id(inbound_id, attempts),
                job_timeout=JOB_TIMEOUT,
                failure_ttl=86400,
            )
            queued += 1
        return queued


def process_due_directly(limit: int = 50) -> int:
    """Redis is down: process what is due from this process. Returns how many were done."""
    with get_app().app_context():
        ids = [inbound_id for inbound_id, _a, _s in due_inbound(limit)]
        db.session.rollback()
    return sum(1 for inbound_id in ids if process_inbound(inbound_id) not in ("skipped", "retry"))
