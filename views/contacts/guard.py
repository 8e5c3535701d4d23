"""The gate of the contact and summary screens: agents of an office only, everyone else a 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from app.cases import access

PERMISSION = "can_access"


def agents_only(method: Callable[..., Any]) -> Callable[..., Any]:
    """The FAB permission of the view and ``access.may_open_summary``; otherwise 404 (anonymous,
    taxpayers, steering and administrators alike: the page does not exist for them)."""

    @wraps(method)
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not access.may_open_summary(current_user):
            abort(404)
        if not self.appbuilder.sm.has_access(PERMISSION, self.class_permission_name):
            abort(404)
        return method(self, *args, **kwargs)

    return wrapped
