"""The floor of the stack (benchmark only, issue 17): for each measured page, a bare route that
runs the page's main query and renders its rows in a minimal template, behind the same app,
middleware and sign-in. ``make bench`` reports each page as a multiple of its floor.

Registered only when the setting ``BENCH_FLOOR_ROUTES`` is on (``make bench`` turns it on for
its own servers); off by default, so never served by a deployment that does not ask for it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from app.cases import access, search
from app.directory import access as directory_access
from models import Case, CaseStatus, Message, db
from views.taxpayer.session import me, taxpayer_required

blueprint = Blueprint("floor", __name__, url_prefix="/_floor")
ROWS = 50
CASE_COLUMNS = (Case.id, Case.reference, Case.subject, Case.status, Case.received_at)


def _agent() -> Any:
    if not current_user.is_authenticated or not directory_access.handles_cases(current_user):
        abort(404)
    return current_user


def _render(rows: Any) -> str:
    return render_template("floor/rows.html", rows=rows)


@blueprint.get("/agent-inbox")
def agent_inbox() -> str:
    """The office inbox's rows: its open requests, oldest first."""
    agent = _agent()
    rows = db.session.execute(
        select(*CASE_COLUMNS)
        .where(access.cases_visible_to(agent), Case.status != CaseStatus.CLOSED)
        .order_by(Case.received_at, Case.id)
        .limit(ROWS + 1)
    ).all()
    return _render(rows[:ROWS])


@blueprint.get("/case/<int:case_id>")
def case_page(case_id: int) -> str:
    """A request's page: its thread."""
    agent = _agent()
    rows = db.session.execute(
        select(Message.id, Message.body, Message.created_at, Case.reference)
        .join(Case, Case.id == Message.case_id)
        .where(Message.case_id == case_id, access.cases_visible_to(agent))
        .order_by(Message.created_at, Message.id)
    ).all()
    if not rows:
        abort(404)
    return _render(rows)


@blueprint.get("/summary/<int:taxpayer_id>")
def summary(taxpayer_id: int) -> str:
    """The summary sheet's rows: every request of the taxpayer, newest first."""
    _agent()
    rows = db.session.execute(
        select(*CASE_COLUMNS)
        .where(Case.taxpayer_id == taxpayer_id)
        .order_by(Case.received_at.desc(), Case.id.desc())
    ).all()
    return _render(rows)


@blueprint.get("/search")
def search_page() -> str:
    """The search's rows, through the search itself (its one or two full-text statements)."""
    results = search.search(_agent(), request.args.get("q"))
    return _render(results.cases)


@blueprint.get("/taxpayer-inbox")
@taxpayer_required
def taxpayer_inbox() -> str:
    """The taxpayer's requests, latest activity first."""
    rows = db.session.execute(
        select(*CASE_COLUMNS)
        .where(access.cases_of_taxpayer(me()))
        .order_by(Case.last_activity_at.desc(), Case.id.desc())
        .limit(ROWS + 1)
    ).all()
    return _render(rows[:ROWS])
