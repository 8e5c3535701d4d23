"""The e-mail outbox: rows written with what causes them, sent by a job after commit."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from app.platform.queue import enqueue_after_commit
from models import Case, Message, Notification, NotificationKind, Taxpayer, db

# The job that sends one outbox row, named (the worker imports it; the domain does not).
SEND_JOB = "jobs.notifications.send_notification"


def queue_email(
    *,
    kind: NotificationKind,
    recipient: str,
    subject: str,
    body: str,
    taxpayer: Taxpayer | None = None,
    case: Case | None = None,
    message: Message | None = None,
) -> Notification:
    """Add an outbox row to the current transaction; the send job is queued after commit."""
    notification = Notification(
        kind=kind,
        recipient=recipient,
        subject=subject,
        body=body,
        taxpayer_id=taxpayer.id if taxpayer else None,
        case_id=case.id if case else None,
        message_id=message.id if message else None,
    )
    db.session.add(notification)
    db.session.flush()
    enqueue_after_commit(SEND_JOB, notification.id)
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
