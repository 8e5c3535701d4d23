"""Template filters and globals shared by the taxpayer and agent pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel import support
from flask import Flask, current_app
from flask_babel import get_translations
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


_URL = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def _linkify_line(line: str) -> Markup:
    """Escape one line; web addresses become links that open nothing of ours (noopener)."""
    parts: list[Markup] = []
    position = 0
    for match in _URL.finditer(line):
        parts.append(escape(line[position : match.start()]))
        url = escape(match.group(0))
        parts.append(
            Markup(
                '<a href="{0}" rel="noopener noreferrer nofollow" target="_blank">{0}</a>'
            ).format(url)
        )
        position = match.end()
    parts.append(escape(line[position:]))
    return Markup("").join(parts)


def multiline(text: str | None) -> Markup:
    """Escape a message body, keep its line breaks and make web addresses clickable: nothing a
    user wrote ever becomes markup of its own."""
    if not text:
        return Markup("")
    return Markup("<br>\n").join(_linkify_line(line) for line in text.split("\n"))


def init_app(app: Flask) -> None:
    app.jinja_env.filters["datetime_fr"] = format_datetime
    app.jinja_env.filters["date_fr"] = format_date
    app.jinja_env.filters["multiline"] = multiline

    @app.context_processor
    def _globals() -> dict[str, object]:
        return {"demo_mode": current_app.config["DEMO_MODE"]}


def install_gettext(app: Flask) -> None:
    """The templates' ``_``/``ngettext`` read the catalogue once per process (after Flask-Babel is
    set up, by FAB): Flask-Babel's own look up the request's context, locale and domain at each
    call, tens of microseconds that a page of 50 rows repeats hundreds of times. Only when the
    site speaks one language (``LANGUAGES``), which it does: French."""
    if len(app.config.get("LANGUAGES") or {}) != 1:
        return
    loaded: list[support.Translations] = []

    def catalogue() -> support.NullTranslations:
        if loaded:
            return loaded[0]
        found = get_translations()
        if isinstance(found, support.Translations):  # not the null one of no context
            loaded.append(found)
        return found

    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: catalogue().ugettext(s),
        ngettext=lambda s, p, n: catalogue().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalogue().unpgettext(c, s, p, n),
    )
