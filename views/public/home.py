"""The public home page: what the service is, and the two ways in."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from models import db

blueprint = Blueprint("public", __name__)


@blueprint.get("/")
def index() -> str:
    return render_template("public/home.html")


@blueprint.get("/accessibilite")
def accessibility() -> str:
    """The accessibility statement (déclaration d'accessibilité) a French public service must
    publish, linked from every footer; its figures are those of the every-route browser test."""
    return render_template("public/accessibility.html")


@blueprint.get("/healthz")
def health() -> tuple[dict[str, str], int]:
    """For load balancers: 200 when this server can reach its database, else 503."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}, 200
