"""Who may do what with a mailbox e-mail: on top of ``app.cases.access`` (the case's office)."""

from __future__ import annotations

from typing import Any

from app.cases import access as case_access
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
