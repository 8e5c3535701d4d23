"""Sending the outbox.

A row is claimed under a lock (``locked_at``) in its own short transaction, sent, then marked
sent. A worker killed between sending and marking leaves a stale lock: the sweep queues the row
again, so an alert goes out at most twice and never zero times.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

from flask import current_app
from flask_mail import Message as MailMessage
from sqlalchemy import ColumnElement, and_, or_, select, update

from app.extensions import mail
from app.platform.queue import get_queue
from jobs import context
from models import Notification, NotificationStatus, db, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
LOCK_STALE_AFTER = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min... capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def _is_due(now: datetime) -> ColumnElement[bool]:
    """Pending, its time come, and not held by a live worker (no lock, or a stale one)."""
    return and_(
        Notification.status == NotificationStatus.PENDING,
        Notification.next_attempt_at <= now,
        or_(Notification.locked_at.is_(None), Notification.locked_at < now - LOCK_STALE_AFTER),
    )


def _claim(notification_id: int) -> Notification | None:
    now = utcnow()
    claimed = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, _is_due(now))
        .values(locked_at=now, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return db.session.get(Notification, notification_id)


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in error.recipients.values()]
        return all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return False


def send_notification(notification_id: int) -> str:
    """Send one outbox row if it is still due; returns what happened."""
    with context.get_app().app_context():
        notification = _claim(notification_id)
        if notification is None:
            return "skipped"
        try:
            mail.send(
                MailMessage(
                    subject=notification.subject,
                    recipients=[notification.recipient],
                    body=notification.body,
                    sender=current_app.config["MAIL_DEFAULT_SENDER"],
                )
            )
        except (smtplib.SMTPException, OSError) as error:
            db.session.rollback()
            notification = db.session.get(Notification, notification_id)
            assert notification is not None
            notification.locked_at = None
            notification.last_error = f"{type(error).__name__}: {error}"[:2000]
            if _is_permanent(error) or notification.attempts >= MAX_ATTEMPTS:
                notification.status = NotificationStatus.FAILED
                outcome = "failed"
            else:
                notification.next_attempt_at = utcnow() + backoff(notification.attempts)
                outcome = "retry"
            db.session.commit()
            log.warning("Notification %s not sent (%s): %s", notification_id, outcome, error)
            return outcome
        notification.status = NotificationStatus.SENT
        notification.sent_at = utcnow()
        notification.locked_at = None
        notification.last_error = None
        db.session.commit()
        return "sent"


def due_notification_ids(limit: int = 500) -> list[int]:
    now = utcnow()
    return list(
        db.session.scalars(
            select(Notification.id)
            .where(_is_due(now))
            .order_by(Notification.next_attempt_at)
            .limit(limit)
        )
    )


def sweep_outbox() -> int:
    """Queue every due row again (Redis lost it, SMTP was down, a worker died). Returns count."""
    with context.get_app().app_context():
        ids = due_notification_ids()
        db.session.rollback()
        queue = get_queue()
        for notification_id in ids:
            queue.enqueue(send_notification, notification_id, job_timeout=60)
        return len(ids)
