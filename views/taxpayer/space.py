"""The personal space: the requests of the signed-in taxpayer."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from models import Case, db
from views.taxpayer import blueprint
from views.taxpayer.session import current_taxpayer, taxpayer_required


@blueprint.get("/")
@taxpayer_required
def inbox() -> str:
    taxpayer = current_taxpayer()
    assert taxpayer is not None
    cases = db.session.scalars(
        select(Case)
        .where(Case.taxpayer_id == taxpayer.id, Case.visible_to_taxpayer.is_(True))
        .order_by(Case.last_activity_at.desc(), Case.id.desc())
        .limit(20)
    ).all()
    return render_template("taxpayer/inbox.html", taxpayer=taxpayer, cases=cases)
