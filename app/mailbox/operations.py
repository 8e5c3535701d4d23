"""The writes of the mailbox intake that people do: an agent answers an e-mail by e-mail; an
administrator has an e-mail whose processing failed processed again. They flush, never commit
(docs/decisions/0007)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.cases import operations
from app.cases.operations import NotAllowed, OperationError
from app.mailbox import access, intake
from app.notifications.outbox import public_url, queue_email
from app.platform.queue import enqueue_after_commit
from models import Agent, Case, InboundEmail, InboundStatus, Message, NotificationKind, db, utcnow


def answer_by_email(
    *,
    agent: Agent,
    case: Case,
    email: InboundEmail | None,
    body: str,
    submission_token: str | None = None,
    warnings_confirmed: bool = False,
) -> Message:
    """The agent's answer, on the thread (an agent's public message) and sent to the e-mail's
    sender through the outbox, from the office's mailbox address, in reply to its Message-ID.

    The answer goes to the From address, never to a ``Reply-To`` (a forger could set one to
    read the answer). Checked by the guide like any answer: ``NeedsConfirmation`` unless
    ``warnings_confirmed``."""
    if not access.may_answer_by_email(agent, case, email):
        raise NotAllowed(_("Cette demande ne peut pas recevoir de réponse par courriel."))
    assert email is not None and email.sender
    if not (body or "").strip():
        raise OperationError(_("Écrivez votre réponse."), field="email_body")
    message = operations.reply_to_case(
        agent=agent,
        case=case,
        body=body,
        submission_token=submission_token,
        by_email=True,
        warnings_confirmed=warnings_confirmed,
    )
    subject = email.subject or case.subject
    queue_email(
        kind=NotificationKind.MAILBOX_ANSWER,
        recipient=email.sender,
        subject=(subject if subject.lower().startswith("re:") else f"RE: {subject}")[:255],
        body=message.body
        + "\n\n-- \n"
        + _(
            "%(office)s — pour la suite de vos échanges, utilisez la messagerie sécurisée de "
            "votre espace : %(link)s",
            office=case.office.name,
            link=public_url("taxpayer.login"),
        ),
        taxpayer=case.taxpayer,
        case=case,
        message=message,
        sender=email.mailbox.address,
        in_reply_to=email.message_id,
    )
    return message


def retry_failed_email(*, user: object, inbound_id: int) -> InboundEmail | None:
    """Put an e-mail given up on back to the intake, due now with a fresh budget of attempts,
    and queue its processing job (the same job and sweep as a new e-mail) once committed.
    Returns the row, or None when it is no longer failed (retried already: nothing is queued
    twice). Raises ``NotAllowed`` for whoever may not, ``LookupError`` for an unknown id."""
    if not access.may_handle_failed_emails(user):
        raise NotAllowed(_("Vous ne pouvez pas relancer le traitement des courriels."))
    row = db.session.scalar(
        select(InboundEmail).where(InboundEmail.id == inbound_id).with_for_update()
    )
    if row is None:
        raise LookupError(inbound_id)
    if row.status is not InboundStatus.FAILED:
        return None
    row.status = InboundStatus.PENDING
    row.next_attempt_at = utcnow()
    row.locked_at = None
    row.attempts = 0
    enqueue_after_commit(intake.PROCESS_JOB, row.id, job_id=intake.job_id(row.id, 0))
    db.session.flush()
    return row
