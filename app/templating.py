"""Template filters and globals shared by the taxpayer and agent pages."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from markupsafe import Markup, escape

PARIS = ZoneInfo("Europe/Paris")


def local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(PARIS)


def format_datetime(value: datetime | None) -> str:
    moment = local(value)
    return moment.strftime("%d/%m/%Y à %H:%M") if moment else ""


def format_date(value: datetime | None) -> str:
    moment = local(value)
    return moment.strftime("%d/%m/%Y") if moment else ""


def multiline(text: str | None) -> Markup:
    """Escape a message body and keep its line breaks: nothing a user wrote becomes markup."""
    if not text:
        return Markup("")
    paragraphs = escape(text).split("\n")
    return Markup("<br>\n").join(paragraphs)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["datetime_fr"] = format_datetime
    app.jinja_env.filters["date_fr"] = format_date
    app.jinja_env.filters["multiline"] = multiline

    @app.context_processor
    def _globals() -> dict[str, object]:
        return {"demo_mode": current_app.config["DEMO_MODE"]}
