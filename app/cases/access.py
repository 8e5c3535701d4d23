"""Who may see and do what with cases: the one place that decides it for cases, their messages
and attachments, and the taxpayers an agent may look up (README, "Access rules").

Access is decided per domain, each in its own ``access`` module (docs/architecture.md,
docs/decisions/0009): this one for cases; ``app.directory.access`` for roles, reply templates,
colleagues and the access log; ``app.steering.access`` for the office subtrees whose figures a
user may see. Every view, FAB list filter and action, export, job and API goes through them. They
return SQL clauses (so that lists filter in the database) or the object itself, or ``None`` when
the user may not have it: the caller answers 404, never someone else's data.

The rules, in short:

- a taxpayer sees their own cases that are visible to them, and only the public messages;
- an agent or office manager handles the cases of their own office, with everything in them;
  after a transfer the case belongs to the receiving office alone: the sending office keeps
  what the summary sheet shows of it (dates, topic, status, offices), not the messages;
- any agent or office manager may open any taxpayer's summary sheet (accueil de proximité),
  each opening written to the access log with its reason;
- office managers also assign cases, manage their office's reply templates and read their
  office's access log;
- steering users see figures of their subtree of the office tree, never a case or a taxpayer;
- administrators manage the directory and the settings, and read the whole access log; they do
  not read cases unless they also hold the agent role in an office.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, select, true

from app.directory.access import handles_cases, is_office_manager
from models import Attachment, Case, Message, Tag, Taxpayer, db

# --- cases -------------------------------------------------------------------------------


def handles_case(user: Any, case: Case) -> bool:
    """Whether a case already loaded is one the agent handles (``cases_visible_to`` in Python:
    operations recheck it once the row is locked, as a transfer may have moved it meanwhile)."""
    return handles_cases(user) and case.office_id == user.office_id


def cases_visible_to(user: Any) -> ColumnElement[bool]:
    """The cases an agent may list and open, as a WHERE clause on ``Case``."""
    if not handles_cases(user):
        return false()
    return Case.office_id == user.office_id


def messages_of_cases_visible_to(user: Any) -> ColumnElement[bool]:
    """The same rule as ``cases_visible_to``, on ``Message``: a message carries its request's
    office (moved with it on a transfer), so a full-text search scans one office's index
    entries (decision 0016)."""
    if not handles_cases(user):
        return false()
    return Message.office_id == user.office_id


def case_for_agent(user: Any, case_id: int, *, for_update: bool = False) -> Case | None:
    """The case if the agent may open it, else None (the caller answers 404).

    ``for_update``: its row locked for the transaction and read afresh (the session's copy
    overwritten), so that the operation that follows need not read it again to lock it
    (``row_locked``)."""
    query = select(Case).where(Case.id == case_id, cases_visible_to(user))
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    case = db.session.scalar(query)
    if case is not None and for_update:
        _held_locks().add(case.id)
    return case


_LOCKS_KEY = "econtacts.case_locks"


def _held_locks() -> set[int]:
    """The ids of the cases whose row this session's current transaction has locked and read."""
    transaction = db.session().get_transaction()
    held = db.session.info.get(_LOCKS_KEY)
    if held is None or held[0] is not transaction:
        held = (transaction, set())
        db.session.info[_LOCKS_KEY] = held
    ids: set[int] = held[1]
    return ids


def row_locked(case: Case) -> bool:
    """Whether ``case_for_agent(..., for_update=True)`` locked and read this case's row in the
    current transaction (a commit or a rollback ends it)."""
    return db.session().get_transaction() is not None and case.id in _held_locks()


def contact_recorded_by(user: Any, case_id: int) -> Case | None:
    """A phone, counter or letter contact the agent recorded, wherever it is now: after it was
    forwarded, its author still reads what they wrote (``messages_written_by``), nothing more."""
    if not handles_cases(user):
        return None
    return db.session.scalar(
        select(Case).where(
            Case.id == case_id,
            Case.created_by_id == user.id,
            Case.recording_office_id.is_not(None),
        )
    )


def messages_written_by(user: Any) -> ColumnElement[bool]:
    """The messages an agent wrote themself (what they keep of a contact forwarded away)."""
    if not handles_cases(user):
        return false()
    return Message.author_agent_id == user.id


def cases_of_taxpayer(taxpayer: Taxpayer) -> ColumnElement[bool]:
    """The cases a taxpayer sees in their space."""
    return (Case.taxpayer_id == taxpayer.id) & Case.visible_to_taxpayer.is_(True)


def case_by_reference_for_taxpayer(taxpayer: Taxpayer, reference: str) -> Case | None:
    return db.session.scalar(
        select(Case).where(Case.reference == reference, cases_of_taxpayer(taxpayer))
    )


def taxpayer_may_withdraw(taxpayer: Taxpayer, case: Case) -> bool:
    """A taxpayer may withdraw their own online case while no agent has answered it."""
    return (
        case.taxpayer_id == taxpayer.id
        and case.visible_to_taxpayer
        and case.channel.value == "online"
        and case.is_open
        and case.first_answer_at is None
        and case.withdrawn_at is None
        and case.archived_at is None
    )


def messages_for_taxpayer() -> ColumnElement[bool]:
    """Internal notes never reach the taxpayer."""
    return Message.internal.is_(False)


def attachment_for_taxpayer(taxpayer: Taxpayer, attachment_id: int) -> Attachment | None:
    return db.session.scalar(
        select(Attachment)
        .join(Message, Attachment.message_id == Message.id)
        .join(Case, Message.case_id == Case.id)
        .where(Attachment.id == attachment_id, messages_for_taxpayer(), cases_of_taxpayer(taxpayer))
    )


def attachment_for_agent(user: Any, attachment_id: int) -> Attachment | None:
    return db.session.scalar(
        select(Attachment)
        .join(Message, Attachment.message_id == Message.id)
        .join(Case, Message.case_id == Case.id)
        .where(Attachment.id == attachment_id, cases_visible_to(user))
    )


# --- actions on a case ---------------------------------------------------------------------

ACTIONS = (
    "take",
    "assign",
    "reply",
    "request_information",
    "note",
    "transfer",
    "acknowledge",
    "close",
    "reopen",
    "attach_taxpayer",
    "tag",
    "link",
    "merge",
    "convert",
)


def may(user: Any, action: str, case: Case) -> bool:
    """Whether the agent may do ``action`` on a case they can see."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not handles_case(user, case):
        return False
    if case.archived_at is not None:
        return False
    if action == "assign":
        return is_office_manager(user)
    if action == "reopen":
        return not case.is_open
    if action == "acknowledge":
        return case.awaiting_acknowledgement
    if action == "attach_taxpayer":
        return case.taxpayer_id is None
    if action == "convert":
        # An e-mail's case not yet in the taxpayer's space (app.mailbox).
        return case.channel.value == "email" and not case.visible_to_taxpayer
    if action in ("take", "request_information", "transfer", "close", "merge"):
        return case.is_open
    return True  # reply, note, tag, link: a reply to a closed case reopens it


# --- taxpayers and summary sheets --------------------------------------------------------------


def may_open_summary(user: Any) -> bool:
    """Accueil de proximité: any agent of an office may open any taxpayer's summary sheet (each
    opening logged) and record a contact with them (``views.contacts`` asks this)."""
    return handles_cases(user)


def may_be_assigned(assignee: Any, case: Case) -> bool:
    """A case is assigned only to an active agent of the office that holds it."""
    return bool(assignee.active) and assignee.office_id == case.office_id


def taxpayers_visible_to(user: Any) -> ColumnElement[bool]:
    """Whom an agent may look up (search, contact form): every taxpayer for an agent."""
    return true() if handles_cases(user) else false()


# --- tags of an office -----------------------------------------------------------------------


def tags_usable_by(user: Any) -> ColumnElement[bool]:
    """The tags an agent may put on their office's cases and filter by: their office's."""
    if not handles_cases(user):
        return false()
    return (Tag.office_id == user.office_id) & Tag.active.is_(True)


def tags_managed_by(user: Any) -> ColumnElement[bool]:
    """The tags an office manager creates, renames and retires: their office's."""
    return Tag.office_id == user.office_id if is_office_manager(user) else false()
