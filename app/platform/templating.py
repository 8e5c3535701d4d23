"""Template filters and globals shared by the taxpayer and agent pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel import support
from flask import Flask, current_app, has_request_context, request
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

    install_url_cache(app)

    @app.context_processor
    def _globals() -> dict[str, object]:
        return {"demo_mode": current_app.config["DEMO_MODE"]}


def install_url_cache(app: Flask) -> None:
    """The templates' ``url_for`` builds once per process the URLs that depend on nothing but
    their endpoint: a route without arguments, a static file. A layout has about twenty on every
    page (style sheets, scripts, menu and footer links), each a walk of Werkzeug's URL map. The
    key holds the request's mount point (``SCRIPT_NAME``); a URL with arguments, an external or
    anchored one, or one built outside a request is built as before, and so is every URL while
    the app has ``url_defaults`` callbacks (they could add arguments)."""
    built: dict[tuple[str, str, Any], str] = {}

    def url_for(endpoint: str, **values: Any) -> str:
        if values and (endpoint != "static" or len(values) != 1 or "filename" not in values):
            return app.url_for(endpoint, **values)
        if endpoint.startswith(".") or not has_request_context() or app.url_default_functions:
            return app.url_for(endpoint, **values)
        key = (request.script_root, endpoint, values.get("filename"))
        url = built.get(key)
        if url is None:
            url = built[key] = app.url_for(endpoint, **values)
        return url

    app.jinja_env.globals["url_for"] = url_for


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
