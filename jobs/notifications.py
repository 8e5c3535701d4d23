"""Sending the outbox.

A row is claimed under a lock (``locked_at``) in its own short transaction, sent, then marked
sent. What can still go wrong, and what happens:

- the SMTP server hangs: the connection times out (``MAIL_TIMEOUT``, shorter than the job's
  ``JOB_TIMEOUT``) and the attempt is retried later; if RQ's job timeout fires first anyway, the
  row is released at once, not left locked;
- the database blinks after the SMTP server accepted: "mark sent" is retried until it answers, so
  nothing is sent again because PostgreSQL restarted;
- the process is killed between the SMTP server's answer and that commit: the lock goes stale and
  the sweep queues the row again, so the alert goes out twice (never zero times) with the same
  ``Message-ID`` (``app.notifications.message_id_header``);
- the address is refused for good (5xx), or deferred (4xx) for ``ALERT_RETRY_DAYS``: the row fails
  and the taxpayer's address is marked undeliverable (they are told at sign-in). SMTP unreachable
  is retried with the same long backoff and fails the row, not the address.

The sweep queues a due row only if no RQ job for its next attempt is already waiting (job ids are
``notification-<id>-<attempts>``), or if its lock went stale (the worker holding it died). A job
that a worker took off the queue (RQ moves it to its "intermediate" list) and died before
starting is still marked "queued", but nothing will run it before RQ's own maintenance, ten
minutes later: when the sweep finds it still in that list at its next round, it does not count
it as waiting (one round first, so that a live worker's job being started is left alone).
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import time
from datetime import datetime, timedelta

from flask import current_app
from flask_mail import Message as MailMessage
from rq import Queue
from rq.job import Job, JobStatus
from rq.timeouts import JobTimeoutException
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.extensions import mail
from app.notifications.outbox import mark_undeliverable, message_id_header, send_job_id
from app.platform.queue import JOB_TIMEOUT, get_queue
from jobs import claims
from jobs.context import get_app
from models import Notification, NotificationKind, NotificationStatus, db, utcnow

log = logging.getLogger(__name__)

LOCK_STALE_AFTER = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=4)
MARK_SENT_PAUSE_MAX = 5.0  # seconds between two tries of "mark sent" while the database is down
# A job waiting to run. Not "started": a started job whose row is not locked either has not
# claimed it yet (a few milliseconds) or belongs to a worker killed before its claim; queueing it
# again costs at most a job that finds the row taken ("skipped").
WAITING_JOB = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min... capped at four hours: about thirty attempts over five days."""
    seconds = min(30 * 2 ** min(max(attempts - 1, 0), 20), BACKOFF_CAP.total_seconds())
    return timedelta(seconds=seconds)


def retry_period() -> timedelta:
    return timedelta(days=int(current_app.config.get("ALERT_RETRY_DAYS", 5)))


def _is_due(now: datetime) -> ColumnElement[bool]:
    """Pending, its time come, and not held by a live worker (no lock, or a stale one)."""
    return claims.is_due(Notification, NotificationStatus.PENDING, now, LOCK_STALE_AFTER)


def _smtp_codes(error: Exception) -> list[int]:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return [code for code, _msg in error.recipients.values()]
    if isinstance(error, smtplib.SMTPResponseException):
        return [error.smtp_code]
    return []


def _is_permanent(error: Exception) -> bool:
    codes = _smtp_codes(error)
    return bool(codes) and all(500 <= code < 600 for code in codes)


def _mail_message(notification: Notification) -> MailMessage:
    headers: dict[str, str] = {}
    if notification.in_reply_to:  # an answer to a mailbox e-mail: on the sender's thread
        headers["In-Reply-To"] = notification.in_reply_to
        headers["References"] = notification.in_reply_to
    if notification.kind is not NotificationKind.MAILBOX_ANSWER:
        # Every other e-mail is automatic (RFC 3834): robots must not answer it.
        headers["Auto-Submitted"] = (
            "auto-replied"
            if notification.kind is NotificationKind.MAILBOX_AUTO_REPLY
            else "auto-generated"
        )
    message = MailMessage(
        subject=notification.subject,
        recipients=[notification.recipient],
        body=notification.body,
        sender=notification.sender or current_app.config["MAIL_DEFAULT_SENDER"],
        extra_headers=headers or None,
    )
    message.msgId = message_id_header(notification)
    return message


def send_notification(notification_id: int) -> str:
    """Send one outbox row if it is still due; returns what happened."""
    with get_app().app_context():
        notification = claims.claim_row(Notification, notification_id, _is_due)
        if notification is None:
            return "skipped"
        message = _mail_message(notification)
        try:
            mail.send(message)
        except JobTimeoutException as error:  # RQ's timeout fired inside the SMTP exchange
            return _attempt_failed(notification_id, error)
        except (smtplib.SMTPException, OSError) as error:
            return _attempt_failed(notification_id, error)
        _mark_sent(notification_id)
        return "sent"


def _attempt_failed(notification_id: int, error: BaseException) -> str:
    """Release the row at once, with its next attempt or its failure."""
    db.session.rollback()
    notification = db.session.get(Notification, notification_id)
    assert notification is not None
    now = utcnow()
    reason = f"{type(error).__name__}: {error}"[:2000]
    notification.locked_at = None
    notification.last_error = reason
    codes = _smtp_codes(error) if isinstance(error, Exception) else []
    if isinstance(error, Exception) and _is_permanent(error):
        notification.status = NotificationStatus.FAILED
        mark_undeliverable(notification, reason)
        outcome = "failed"
    elif now - notification.created_at >= retry_period():
        notification.status = NotificationStatus.FAILED
        if codes:  # the server kept deferring this address for days: it does not receive mail
            mark_undeliverable(notification, reason)
        outcome = "failed"
    else:
        notification.next_attempt_at = now + backoff(notification.attempts)
        outcome = "retry"
    db.session.commit()
    log.warning("Notification %s not sent (%s): %s", notification_id, outcome, reason)
    return outcome


def _mark_sent(notification_id: int) -> None:
    """The SMTP server has the message: record it, however long the database takes to answer
    (sending it again would be a duplicate). RQ's job timeout does not stop this loop."""
    pause = 0.25
    while True:
        try:
            try:
                db.session.execute(
                    update(Notification)
                    .where(Notification.id == notification_id)
                    .values(
                        status=NotificationStatus.SENT,
                        sent_at=utcnow(),
                        locked_at=None,
                        last_error=None,
                    )
                    .execution_options(synchronize_session=False)
                )
                db.session.commit()
                return
            except IntegrityError:
                raise
            except DBAPIError as error:
                with contextlib.suppress(Exception):
                    db.session.rollback()
                log.warning(
                    "Notification %s sent but not yet marked sent (database: %s); retrying",
                    notification_id,
                    type(error.orig).__name__ if error.orig is not None else error,
                )
            time.sleep(pause)
            pause = min(pause * 2, MARK_SENT_PAUSE_MAX)
        except JobTimeoutException:
            log.warning("Notification %s: job timeout while marking sent", notification_id)


def due_notifications(limit: int = 500) -> list[tuple[int, int, bool]]:
    """(id, attempts, stale lock) of the rows due now, oldest first."""
    now = utcnow()
    rows = db.session.execute(
        select(Notification.id, Notification.attempts, Notification.locked_at)
        .where(_is_due(now))
        .order_by(Notification.next_attempt_at)
        .limit(limit)
    ).all()
    return [(row.id, row.attempts, row.locked_at is not None) for row in rows]


def due_notification_ids(limit: int = 500) -> list[int]:
    return [notification_id for notification_id, _a, _s in due_notifications(limit)]


def sweep_outbox() -> int:
    """Queue every due row that no RQ job is waiting for (Redis lost it, SMTP was down, a worker
    died). Returns how many were queued. Raises ``redis.RedisError`` if Redis is unreachable."""
    with get_app().app_context():
        due = due_notifications()
        db.session.rollback()
        if not due:
            return 0
        queue = get_queue()
        ids = [send_job_id(notification_id, attempts) for notification_id, attempts, _s in due]
        jobs = Job.fetch_many(ids, connection=queue.connection)
        taken = _taken_since_last_sweep(queue)
        queued = 0
        for (notification_id, attempts, stale_lock), job in zip(due, jobs, strict=True):
            if (
                job is not None
                and not stale_lock
                and job.id not in taken
                and job.get_status(refresh=False) in WAITING_JOB
            ):
                continue  # already waiting in the queue
            queue.enqueue(
                send_notification,
                notification_id,
                job_id=send_job_id(notification_id, attempts),
                job_timeout=JOB_TIMEOUT,
                failure_ttl=86400,
            )
            queued += 1
        return queued


# The jobs this process saw in RQ's intermediate list at its previous sweep.
_taken_before: set[str] = set()


def _taken_since_last_sweep(queue: Queue) -> set[str]:
    """Jobs taken off the queue (RQ's intermediate list) and still there at the previous sweep
    of this process: a live worker marks a job started within milliseconds, so these belong to
    a worker that died. A job seen there only once may be one a live worker is starting."""
    global _taken_before
    now = set(queue.intermediate_queue.get_job_ids())
    lost, _taken_before = now & _taken_before, now
    return lost


def send_due_directly(limit: int = 100) -> int:
    """Redis is down: send what is due from this process, without the queue. Returns how many
    were sent (rows another process holds are skipped by the claim)."""
    with get_app().app_context():
        ids = due_notification_ids(limit)
        db.session.rollback()
    return sum(1 for notification_id in ids if send_notification(notification_id) == "sent")
