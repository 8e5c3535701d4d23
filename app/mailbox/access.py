"""Who may do what with a mailbox e-mail: on top of ``app.cases.access`` (the case's office)."""

from __future__ import annotations

from typing import Any

from app.cases import access as case_access
from app.directory import access as directory_access
from models import Case, Channel, InboundEmail


def may_answer_by_email(user: Any, case: Case, email: InboundEmail | None) -> bool:
    """An agent of the case's office answers an e-mail's sender by e-mail (an address to
    answer to is needed)."""
    return (
        email is not None
        and case.channel is Channel.EMAIL
        and bool(email.sender)
        and case_access.may(user, "reply", case)
    )


def may_convert(user: Any, case: Case) -> bool:
    """An agent of the case's office makes the e-mail a request of the taxpayer's space."""
    return case_access.may(user, "convert", case)


def may_handle_failed_emails(user: Any) -> bool:
    """Who sees the e-mails whose processing failed and has them processed again: those who
    manage the mailboxes (administrators, docs/directory.md). The e-mails of every office: a
    failure is most often the platform's (antivirus, storage, a mailbox without a topic)."""
    return directory_access.is_admin(user)
