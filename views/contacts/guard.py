"""The gate of the contact and summary screens: agents of an office only, everyone else a 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from app.directory import access

PERMISSION = "can_access"


def agents_only(method: Callable[..., Any]) -> Callable[..., Any]:
    """The FAB permission of the view and ``access.handles_cases``; otherwise 404 (anonymous,
    taxpayers, steering and administrators alike: the page does not exist for them)."""

    @wraps(method)
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated or not access.handles_cases(current_user):
            abort(404)
        if not self.appbuilder.sm.has_access(PERMISSION, self.class_permission_name):
            abort(404)
        return method(self, *args, **kwargs)

    return wrapped
