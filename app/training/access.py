"""Who may use the training space (decision 0009: access is decided in the domain's module)."""

from __future__ import annotations

from typing import Any

from app.directory import access as directory_access


def may_train(user: Any) -> bool:
    """Agents and office managers of an office follow the course (as in their real office)."""
    return bool(getattr(user, "is_authenticated", False)) and directory_access.handles_cases(user)


def may_reset(user: Any) -> bool:
    """Administrators empty and reload the training store."""
    return bool(getattr(user, "is_authenticated", False)) and directory_access.is_admin(user)


def may_follow_progress(user: Any) -> bool:
    """Administrators follow every trainee's progress (no other role runs the training: the
    reset is theirs too, docs/training.md)."""
    return bool(getattr(user, "is_authenticated", False)) and directory_access.is_admin(user)
