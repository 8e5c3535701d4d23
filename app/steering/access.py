"""Which offices' figures a user may see: the subtree of the office tree they steer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, false, or_, true

from app.directory.access import is_admin, is_office_manager, is_steering
from models import Office

if TYPE_CHECKING:
    from app.steering.figures import Node


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


def may_steer(user: Any) -> bool:
    return is_admin(user) or is_steering(user) or is_office_manager(user)


def may_read_transfer_reasons(user: Any, node: Node) -> bool:
    """Reasons may name the taxpayer: only the manager of the office, who reads its cases."""
    return node.leaf and is_office_manager(user) and node.id == user.office_id


def may_see_workload(user: Any, node: Node) -> bool:
    """The workload per agent: only the manager of the office, on their office's page."""
    return node.leaf and is_office_manager(user) and node.id == user.office_id
