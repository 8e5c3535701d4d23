"""Who may see and do what: the one place that decides it (README, "Access rules").

Every view, FAB list filter and action, export, job and API goes through these functions. They
return SQL clauses (so that lists filter in the database) or the object itself, or ``None`` when
the user may not have it: the caller answers 404, never someone else's data.

The rules, in short:

- a taxpayer sees their own requests that are visible to them, and only the public messages;
- an agent or office manager handles the requests of their own office, with everything in them;
  after a transfer the request belongs to the receiving office alone: the sending office keeps
  what the summary sheet shows of it (dates, topic, status, offices), not the messages;
- any agent or office manager may open any taxpayer's summary sheet (accueil de proximité),
  each opening written to the access log with its reason;
- office managers also assign requests, manage their office's reply templates and read their
  office's access log;
- steering users see figures of their subtree of the office tree, never a request or a taxpayer;
- administrators manage the directory and the settings, and read the whole access log; they do
  not read requests unless they also hold the agent role in an office.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true

from models import Attachment, Case, Message, Office, ReplyTemplate, Taxpayer, db
from models.agent import Agent

ROLE_AGENT = "agent"
ROLE_OFFICE_MANAGER = "office_manager"
ROLE_STEERING = "steering"
ROLE_ADMIN = "admin"


def _roles(user: Any) -> set[str]:
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return set(getattr(user, "role_names", set()))


def handles_cases(user: Any) -> bool:
    """An agent or office manager bound to an office: handles requests and records contacts."""
    return bool(_roles(user) & {ROLE_AGENT, ROLE_OFFICE_MANAGER}) and bool(
        getattr(user, "office_id", None)
    )


def is_office_manager(user: Any) -> bool:
    return ROLE_OFFICE_MANAGER in _roles(user) and bool(getattr(user, "office_id", None))


def is_steering(user: Any) -> bool:
    return ROLE_STEERING in _roles(user) and bool(getattr(user, "office_id", None))


def is_admin(user: Any) -> bool:
    return ROLE_ADMIN in _roles(user)


# --- requests -------------------------------------------------------------------------------


def handles_case(user: Any, case: Case) -> bool:
    """Whether a request already loaded is one the agent handles (``cases_visible_to`` in Python:
    operations recheck it once the row is locked, as a transfer may have moved it meanwhile)."""
    return handles_cases(user) and case.office_id == user.office_id


def cases_visible_to(user: Any) -> ColumnElement[bool]:
    """The requests an agent may list and open, as a WHERE clause on ``Case``."""
    if not handles_cases(user):
        return false()
    return Case.office_id == user.office_id


def case_for_agent(user: Any, case_id: int, *, for_update: bool = False) -> Case | None:
    """The request if the agent may open it, else None (the caller answers 404)."""
    query = select(Case).where(Case.id == case_id, cases_visible_to(user))
    if for_update:
        query = query.with_for_update()
    return db.session.scalar(query)


def cases_of_taxpayer(taxpayer: Taxpayer) -> ColumnElement[bool]:
    """The requests a taxpayer sees in their space."""
    return (Case.taxpayer_id == taxpayer.id) & Case.visible_to_taxpayer.is_(True)


def case_for_taxpayer(taxpayer: Taxpayer, case_id: int, *, for_update: bool = False) -> Case | None:
    query = select(Case).where(Case.id == case_id, cases_of_taxpayer(taxpayer))
    if for_update:
        query = query.with_for_update()
    return db.session.scalar(query)


def case_by_reference_for_taxpayer(taxpayer: Taxpayer, reference: str) -> Case | None:
    return db.session.scalar(
        select(Case).where(Case.reference == reference, cases_of_taxpayer(taxpayer))
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


# --- actions on a request ---------------------------------------------------------------------

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
)


def may(user: Any, action: str, case: Case) -> bool:
    """Whether the agent may do ``action`` on a request they can see."""
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
    if action in ("take", "request_information", "transfer", "close"):
        return case.is_open
    return True  # reply and note: a reply to a closed request reopens it


# --- taxpayers and summary sheets --------------------------------------------------------------


def may_open_summary(user: Any) -> bool:
    """Accueil de proximité: any agent may open any taxpayer's summary sheet (logged)."""
    return handles_cases(user)


def taxpayers_visible_to(user: Any) -> ColumnElement[bool]:
    """Whom an agent may look up (search, contact form): every taxpayer for an agent."""
    return true() if handles_cases(user) else false()


# --- the office tree (steering) ------------------------------------------------------------------


def offices_steered_by(user: Any) -> ColumnElement[bool]:
    """The offices whose figures the user may see, as a WHERE clause on ``Office``.

    A steering user sees their office's subtree; an office manager their own office; an
    administrator everything.
    """
    if is_admin(user):
        return true()
    clauses = []
    if is_steering(user) and user.office is not None:
        clauses.append(Office.path.startswith(user.office.path))
    if is_office_manager(user):
        clauses.append(Office.id == user.office_id)
    return or_(*clauses) if clauses else false()


def office_in_scope(user: Any, office_id: int) -> Office | None:
    return db.session.scalar(select(Office).where(Office.id == office_id, offices_steered_by(user)))


def may_steer(user: Any) -> bool:
    return is_admin(user) or is_steering(user) or is_office_manager(user)


# --- directory ---------------------------------------------------------------------------


def templates_managed_by(user: Any) -> ColumnElement[bool]:
    """Reply templates a user may edit: all for administrators, their office's for managers."""
    if is_admin(user):
        return true()
    if is_office_manager(user):
        return ReplyTemplate.office_id == user.office_id
    return false()


def templates_usable_by(user: Any) -> ColumnElement[bool]:
    """Reply templates an agent may use: national ones and their office's."""
    if not handles_cases(user):
        return false()
    return ReplyTemplate.active.is_(True) & (
        ReplyTemplate.office_id.is_(None) | (ReplyTemplate.office_id == user.office_id)
    )


def access_log_visible_to(user: Any) -> ColumnElement[bool]:
    """Who may read the access log: administrators all of it, office managers their office's."""
    from models import AccessLog

    if is_admin(user):
        return true()
    if is_office_manager(user):
        return AccessLog.office_id == user.office_id
    return false()


def colleagues_of(user: Any) -> ColumnElement[bool]:
    """The active agents of the user's office (the inbox's assignee filter)."""
    if not handles_cases(user):
        return false()
    return (Agent.office_id == user.office_id) & Agent.active.is_(True)


def agents_assignable_by(user: Any) -> ColumnElement[bool]:
    """The agents an office manager may assign a request to: those of their office."""
    return colleagues_of(user) if is_office_manager(user) else false()
