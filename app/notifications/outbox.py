"""The e-mail outbox: rows written with what causes them, sent by a job after commit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.platform.queue import enqueue_after_commit
from models import (
    Case,
    Message,
    Notification,
    NotificationKind,
    NotificationStatus,
    Taxpayer,
    WorkerHeartbeat,
    db,
    utcnow,
)

# The job that sends one outbox row, named (the worker imports it; the domain does not).
SEND_JOB = "jobs.notifications.send_notification"


def send_job_id(notification_id: int, attempts: int) -> str:
    """The RQ job of a row's next attempt (``attempts`` made so far): the sweep sees whether it
    is already queued."""
    return f"notification-{notification_id}-{attempts}"


def queue_email(
    *,
    kind: NotificationKind,
    recipient: str,
    subject: str,
    body: str,
    taxpayer: Taxpayer | None = None,
    case: Case | None = None,
    message: Message | None = None,
    sender: str | None = None,
    in_reply_to: str | None = None,
) -> Notification:
    """Add an outbox row to the current transaction; the send job is queued after commit.
    ``sender``: the From (None: MAIL_DEFAULT_SENDER); ``in_reply_to``: the Message-ID answered."""
    notification = Notification(
        sender=sender,
        in_reply_to=in_reply_to,
        kind=kind,
        recipient=recipient,
        subject=subject,
        body=body,
        taxpayer_id=taxpayer.id if taxpayer else None,
        case_id=case.id if case else None,
        message_id=message.id if message else None,
        message_created_at=message.created_at if message else None,
    )
    db.session.add(notification)
    db.session.flush()
    enqueue_after_commit(SEND_JOB, notification.id, job_id=send_job_id(notification.id, 0))
    return notification


def message_id_header(notification: Notification) -> str:
    """The ``Message-ID`` of an outbox row: the same at every attempt, so that a duplicate (a
    process killed between the server's answer and the commit) is recognisable, and a bounce
    names its row."""
    sender = str(current_app.config["MAIL_DEFAULT_SENDER"])
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "e-contacts.localhost"
    created = int(notification.created_at.timestamp())
    return f"<alerte-{notification.id}.{created}@{domain}>"


def notification_for_message_id(header: str) -> Notification | None:
    """The outbox row a ``Message-ID`` (from a bounce) names, or None."""
    match = re.fullmatch(r"<?alerte-(\d+)\.(\d+)@[^>]+>?", header.strip())
    if match is None:
        return None
    notification = db.session.get(Notification, int(match.group(1)))
    if notification is None or message_id_header(notification) != header.strip():
        return None
    return notification


def mark_undeliverable(notification: Notification, reason: str) -> Taxpayer | None:
    """The mail server refused this row's address for good: record it on the taxpayer, if the
    address is still theirs (an old address, or a new one not yet confirmed, says nothing)."""
    if notification.taxpayer_id is None:
        return None
    taxpayer = db.session.get(Taxpayer, notification.taxpayer_id)
    if taxpayer is None or (taxpayer.email or "").casefold() != notification.recipient.casefold():
        return None
    if taxpayer.email_undeliverable_at is None:
        taxpayer.email_undeliverable_at = utcnow()
    taxpayer.email_undeliverable_reason = reason[:2000]
    return taxpayer


def record_bounce(header: str, reason: str) -> Notification | None:
    """A bounce (delivery status notification) for the alert with this ``Message-ID``: the alert
    failed after all, and its address does not receive mail."""
    notification = notification_for_message_id(header)
    if notification is None:
        return None
    notification.status = NotificationStatus.FAILED
    notification.last_error = f"bounce: {reason}"[:2000]
    mark_undeliverable(notification, f"bounce: {reason}")
    return notification


def public_url(endpoint: str, **values: object) -> str:
    """An absolute link for an e-mail, built the same inside or outside a request."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + current_app.url_map.bind("localhost").build(endpoint, values)


def masked(email: str | None) -> str:
    """An address as a page may show it to someone who has not proved who they are."""
    if not email or "@" not in email:
        return ""
    name, domain = email.split("@", 1)
    return f"{name[:1]}•••@{domain}"


def alert_new_message(case: Case, message: Message) -> Notification | None:
    """Tell the taxpayer a new message awaits: no tax matter, no quote, only a link to sign in."""
    taxpayer = case.taxpayer
    if taxpayer is None or not taxpayer.email or not taxpayer.notify_by_email:
        return None
    if not case.visible_to_taxpayer:  # nothing new to see in their space
        return None
    body = _(
        "Bonjour,\n\n"
        "Un nouveau message vous attend dans votre messagerie sécurisée.\n"
        "Pour le lire, connectez-vous à votre espace :\n%(link)s\n\n"
        "Pour votre sécurité, ce courriel ne contient aucune information sur votre dossier.\n"
        "Ne répondez pas à ce courriel : il est envoyé automatiquement.\n",
        link=public_url("taxpayer.login"),
    )
    return queue_email(
        kind=NotificationKind.NEW_MESSAGE,
        recipient=taxpayer.email,
        subject=_("Un nouveau message vous attend dans votre espace"),
        body=body,
        taxpayer=taxpayer,
        case=case,
        message=message,
    )


@dataclass
class OutboxStatus:
    """What administrators and ``flask econtacts status`` see of the outbox and the workers."""

    pending: int
    due: int  # pending and their time come (a backlog if it stays above 0)
    failed: int
    undeliverable: int  # taxpayers whose address the mail server refused
    workers: list[WorkerHeartbeat]
    now: datetime

    @property
    def live_workers(self) -> list[WorkerHeartbeat]:
        return [w for w in self.workers if w.alive(self.now) and w.state != "stopped"]


def outbox_status() -> OutboxStatus:
    """Three counts and the workers' rows, in four small queries."""
    now = utcnow()
    counts = dict(
        db.session.execute(
            select(Notification.status, func.count())
            .where(Notification.status != NotificationStatus.SENT)
            .group_by(Notification.status)
        ).all()
    )
    due = db.session.scalar(
        select(func.count()).where(
            Notification.status == NotificationStatus.PENDING, Notification.next_attempt_at <= now
        )
    )
    undeliverable = db.session.scalar(
        select(func.count()).where(Taxpayer.email_undeliverable_at.is_not(None))
    )
    workers = list(
        db.session.scalars(
            select(WorkerHeartbeat)
            .where(WorkerHeartbeat.beat_at > now - timedelta(days=1))
            .order_by(WorkerHeartbeat.beat_at.desc())
        )
    )
    return OutboxStatus(
        pending=int(counts.get(NotificationStatus.PENDING, 0)),
        due=int(due or 0),
        failed=int(counts.get(NotificationStatus.FAILED, 0)),
        undeliverable=int(undeliverable or 0),
        workers=workers,
        now=now,
    )
