"""Who holds which role, and what the directory lets each role see and edit: reply templates,
colleagues to assign cases to, the access log. Roles are data (``app.fab.permissions`` gives each
its screens); these predicates are what every domain's ``access`` module builds on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, true

from models import AccessLog, ReplyTemplate
from models.agent import Agent

ROLE_AGENT = "agent"
ROLE_OFFICE_MANAGER = "office_manager"
ROLE_STEERING = "steering"
ROLE_ADMIN = "admin"
# A departmental correspondent: answers the difficulties the agents of their directorate report.
ROLE_CORRESPONDENT = "correspondent"


def _roles(user: Any) -> set[str]:
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return set(getattr(user, "role_names", set()))


def handles_cases(user: Any) -> bool:
    """An agent or office manager bound to an office: handles cases and records contacts."""
    return bool(_roles(user) & {ROLE_AGENT, ROLE_OFFICE_MANAGER}) and bool(
        getattr(user, "office_id", None)
    )


def is_office_manager(user: Any) -> bool:
    return ROLE_OFFICE_MANAGER in _roles(user) and bool(getattr(user, "office_id", None))


def is_steering(user: Any) -> bool:
    return ROLE_STEERING in _roles(user) and bool(getattr(user, "office_id", None))


def is_admin(user: Any) -> bool:
    return ROLE_ADMIN in _roles(user)


def may_handle_failed_alerts(user: Any) -> bool:
    """Who sees the e-mail alerts the outbox gave up on and sends them again: administrators
    (an alert fails for the platform's reasons, an address refused for good or every attempt
    used up, whatever the office)."""
    return is_admin(user)


def is_correspondent(user: Any) -> bool:
    return ROLE_CORRESPONDENT in _roles(user) and bool(getattr(user, "office_id", None))


def templates_managed_by(user: Any) -> ColumnElement[bool]:
    """Reply templates a user may edit: all for administrators, their office's for managers."""
    if is_admin(user):
        return true()
    if is_office_manager(user):
        return ReplyTemplate.office_id == user.office_id
    return false()


def manages_office_templates(user: Any) -> bool:
    """An office manager manages their own office's reply templates (the office's screen)."""
    return is_office_manager(user)


def uses_directory_templates(user: Any) -> bool:
    """An administrator who is not an office manager manages every template from the
    directory's list instead of the office's screen."""
    return is_admin(user) and not is_office_manager(user)


def templates_usable_by(user: Any) -> ColumnElement[bool]:
    """Reply templates an agent may use: national ones and their office's."""
    if not handles_cases(user):
        return false()
    return ReplyTemplate.active.is_(True) & (
        ReplyTemplate.office_id.is_(None) | (ReplyTemplate.office_id == user.office_id)
    )


def access_log_visible_to(user: Any) -> ColumnElement[bool]:
    """Who may read the access log: administrators all of it, office managers their office's."""
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
    """The agents an office manager may assign a case to: those of their office."""
    return colleagues_of(user) if is_office_manager(user) else false()
