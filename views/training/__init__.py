"""The training space (e-formation): its screens, and the gate that sends a training request's
whole session to the training store (docs/training.md, decision 0020)."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, request, session, url_for
from flask_appbuilder import AppBuilder
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from app.platform.headers import AGENT_KEY, expire_idle_sessions
from app.platform.params import int_or_none
from app.training import store
from models import Agent, db
from views.training.screens import MODE_KEY, TrainingView

# What always answers from the real database, even in the training mode: signing in and out,
# the agent's own account (password, sessions), entering and leaving the mode, the taxpayer
# space and the public pages. Everything else (every agent screen) answers from the training
# store: a screen added later is on the safe side by default.
REAL_ENDPOINTS = {"TrainingView.enter", "TrainingView.leave", "TrainingView.reset", "static"}
REAL_PREFIXES = (
    "AuthDBView.",
    "ResetMyPasswordView.",
    "ResetPasswordView.",
    "taxpayer.",
    "public.",
    "demo.",
    "appbuilder.",
)


def choose_store() -> Response | None:
    """Before any view or FAB reads the database (right after the session checks)."""
    if not session.get(MODE_KEY):
        return None
    if AGENT_KEY not in session:
        session.pop(MODE_KEY, None)  # signed out: the mode ends with the session
        return None
    endpoint = request.endpoint or ""
    if endpoint in REAL_ENDPOINTS or endpoint.startswith(REAL_PREFIXES):
        return None
    store.enter_for_request()
    agent_id = int_or_none(session.get(AGENT_KEY))
    try:
        present = agent_id is not None and db.session.get(Agent, agent_id) is not None
    except SQLAlchemyError:
        db.session.rollback()
        present = False
    if not present:
        # The training store was reset (or never built) since the agent entered: out of the
        # mode, back on the real database, and told so.
        session.pop(MODE_KEY, None)
        flash(
            _("L'espace de formation a été réinitialisé : entrez à nouveau en formation."), "info"
        )
        return redirect(url_for("TrainingView.index"))
    return None


def training_context() -> dict[str, Any]:
    return {"training_mode": store.active()}


def init_app(app: Flask) -> None:
    """The gate runs right after the idle and ended-session check (``headers``), before FAB's
    guard and every view."""
    funcs = app.before_request_funcs.setdefault(None, [])
    if choose_store not in funcs:
        position = funcs.index(expire_idle_sessions) + 1 if expire_idle_sessions in funcs else 0
        funcs.insert(position, choose_store)
    app.context_processor(training_context)


def register(appbuilder: AppBuilder) -> None:
    appbuilder.add_view(
        TrainingView,
        "Formation",
        label=_l("Formation"),
        icon="fa-graduation-cap",
    )
