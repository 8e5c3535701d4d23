"""The taxpayer's login, kept under its own session key, apart from FAB's agent login.

An agent and a taxpayer signed in from the same browser stay independent, and signing one out
never clears the other (no ``session.clear()``).

Drafts: a form posted after the session ended (idle timeout, signed out in another tab, CSRF
token gone with the session) keeps its text: the fields are stashed (Redis, a day) under an id
kept in the session (``taxpayer_draft``), the person signs in again and finds the form filled in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.platform import sessions
from app.platform.headers import from_another_site
from app.taxpayers import accounts as taxpayers
from app.taxpayers.accounts import stash_draft, take_draft
from models import Taxpayer, db

SESSION_KEY = "taxpayer_id"
DRAFT_KEY = "taxpayer_draft"
PENDING_KEY = "taxpayer_pending"

F = TypeVar("F", bound=Callable[..., Any])


def current_taxpayer() -> Taxpayer | None:
    if "taxpayer" not in g:
        taxpayer_id = session.get(SESSION_KEY)
        g.taxpayer = db.session.get(Taxpayer, taxpayer_id) if taxpayer_id else None
    return g.taxpayer


def remember_browser(response: Response, taxpayer: Taxpayer) -> Response:
    """This browser passed the e-mailed code (or its owner just changed the password here): it is
    trusted for ``TAXPAYER_TRUSTED_BROWSER_DAYS`` by a signed, HttpOnly cookie."""
    response.set_cookie(
        taxpayers.TRUSTED_COOKIE,
        taxpayers.trust_browser(request.cookies.get(taxpayers.TRUSTED_COOKIE), taxpayer),
        max_age=taxpayers.trusted_browser_days() * 24 * 3600,
        path="/espace",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
    )
    return response


def me() -> Taxpayer:
    """The signed-in taxpayer, in a view behind ``taxpayer_required``."""
    taxpayer = current_taxpayer()
    assert taxpayer is not None
    return taxpayer


def sign_in(taxpayer: Taxpayer) -> None:
    """Open a server-side session (``app.platform.sessions``) and keep its token; the caller
    commits, then calls ``session_committed``."""
    session.pop(PENDING_KEY, None)
    session[SESSION_KEY] = taxpayer.id
    session[sessions.TAXPAYER_SID] = sessions.open_session(taxpayer=taxpayer)
    session.permanent = True
    g.taxpayer = taxpayer


def session_committed() -> None:
    token = session.get(sessions.TAXPAYER_SID)
    if isinstance(token, str):
        sessions.remember_live(token)


def sign_out() -> None:
    """End this session on the server too (a copy of the cookie stops working); the caller
    commits."""
    token = session.get(sessions.TAXPAYER_SID)
    if isinstance(token, str):
        sessions.end_sessions(token=token, reason=sessions.LOGOUT)
    for key in (SESSION_KEY, sessions.TAXPAYER_SID, PENDING_KEY, DRAFT_KEY):
        session.pop(key, None)
    g.pop("taxpayer", None)


def login_url() -> str:
    return url_for("taxpayer.login", next=request.full_path.rstrip("?"))


def keep_draft_and_sign_in(fields: tuple[str, ...], form_url: str) -> Response:
    """The session is gone: keep the text typed in ``fields`` and ask to sign in again.

    Only for a form sent from this site: a page of another site posting here (the form is
    exempt from CSRF so that a draft survives an expired session) must neither plant its text
    as the person's draft nor replace their session cookie (issue 20, finding 9)."""
    if from_another_site():
        return redirect(url_for("taxpayer.login"))
    values = {name: request.form.get(name, "") for name in fields}
    if any(value.strip() for value in values.values()):
        draft_id = stash_draft({"url": form_url, **values})
        if draft_id:
            session[DRAFT_KEY] = draft_id
            flash(
                _(
                    "Votre session a expiré. Reconnectez-vous : le texte de votre message a été "
                    "conservé (les pièces jointes devront être choisies à nouveau)."
                ),
                "info",
            )
    return redirect(url_for("taxpayer.login", next=form_url))


def pop_draft(form_url: str) -> dict[str, str] | None:
    """The draft kept for this form, if any (given once)."""
    draft_id = session.get(DRAFT_KEY)
    if not draft_id:
        return None
    draft = take_draft(draft_id)
    session.pop(DRAFT_KEY, None)
    if draft is None or draft.pop("url", None) != form_url:
        return None
    return draft


def taxpayer_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_taxpayer() is None:
            return redirect(login_url())
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
