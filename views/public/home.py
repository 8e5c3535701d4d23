"""The public home page: what the service is, and the two ways in."""

from __future__ import annotations

from flask import Blueprint, render_template

blueprint = Blueprint("public", __name__)


@blueprint.get("/")
def index() -> str:
    return render_template("public/home.html")


@blueprint.get("/healthz")
def health() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200
