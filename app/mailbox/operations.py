"""The writes of the mailbox intake that agents do: answer an e-mail by e-mail. They flush,
never commit (docs/decisions/0007)."""

from __future__ import annotations

from flask_babel import gettext as _

from app.cases import operations
from app.cases.operations import NotAllowed, OperationError
from app.mailbox import access
from app.notifications.outbox import public_url, queue_email
from models import Agent, Case, InboundEmail, Message, NotificationKind


def answer_by_email(
    *,
    agent: Agent,
    case: Case,
    email: InboundEmail | None,
    body: str,
    submission_token: str | None = None,
) -> Message:
    """The agent's answer, on the thread (an agent's public message) and sent to the e-mail's
    sender through the outbox, from the office's mailbox address, in reply to its Message-ID.

    The answer goes to the From address, never to a ``Reply-To`` (a forger could set one to
    read the answer)."""
    if not access.may_answer_by_email(agent, case, email):
        raise NotAllowed(_("Cette demande ne peut pas recevoir de réponse par courriel."))
    assert email is not None and email.sender
    if not (body or "").strip():
        raise OperationError(_("Écrivez votre réponse."), field="email_body")
    message = operations.reply_to_case(
        agent=agent, case=case, body=body, submission_token=submission_token, by_email=True
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
