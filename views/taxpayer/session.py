"""The taxpayer's login, kept under its own session key, apart from FAB's agent login.

An agent and a taxpayer signed in from the same browser stay independent, and signing one out
never clears the other (no ``session.clear()``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, redirect, request, session, url_for

from models import Taxpayer, db

SESSION_KEY = "taxpayer_id"

F = TypeVar("F", bound=Callable[..., Any])


def current_taxpayer() -> Taxpayer | None:
    if "taxpayer" not in g:
        taxpayer_id = session.get(SESSION_KEY)
        g.taxpayer = db.session.get(Taxpayer, taxpayer_id) if taxpayer_id else None
    return g.taxpayer


def sign_in(taxpayer: Taxpayer) -> None:
    session[SESSION_KEY] = taxpayer.id
    session.permanent = True
    g.taxpayer = taxpayer


def sign_out() -> None:
    session.pop(SESSION_KEY, None)
    g.pop("taxpayer", None)


def taxpayer_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_taxpayer() is None:
            return redirect(url_for("taxpayer.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
