"""The help pages: Markdown files in ``app/help/content/<audience>/``, rendered by markdown-it-py
(raw HTML escaped, never passed through), with the figures that depend on the configuration
written as ``[[name]]`` and filled from it at each rendering (``values()``), and a search over
titles and text.

A page's file name is its address (``ecrire.md`` → ``/aide/ecrire``); its first line is its
title (``# Écrire une demande``); the files are ordered by a number in front of the name
(``10-ecrire.md``), which the address drops.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from markdown_it import MarkdownIt
from markupsafe import Markup

from app.cases.attachments import ALLOWED_TYPES, human_size
from app.directory import settings

CONTENT = Path(__file__).parent / "content"
TAXPAYER = "usager"
AGENT = "agent"
AUDIENCES = (TAXPAYER, AGENT)
SLUG = re.compile(r"^[a-z0-9-]{1,60}$")
_PLACEHOLDER = re.compile(r"\[\[([a-z_]+)\]\]")
_FILE = re.compile(r"^(\d+)-([a-z0-9-]+)\.md$")
QUERY_MAX = 100
EXCERPT_CHARS = 160


@dataclass(frozen=True)
class Page:
    audience: str
    slug: str
    title: str
    source: str  # Markdown, placeholders not filled


@dataclass(frozen=True)
class Hit:
    page: Page
    excerpt: str
    score: int


def _markdown() -> MarkdownIt:
    # CommonMark with tables; "html": False escapes any HTML written in a page.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


@cache
def _pages(audience: str) -> tuple[Page, ...]:
    """The pages of one audience, read once per process (they ship with the code)."""
    pages = []
    for path in sorted((CONTENT / audience).glob("*.md")):
        match = _FILE.match(path.name)
        if match is None:
            continue
        text = path.read_text(encoding="utf-8")
        first, _sep, rest = text.partition("\n")
        pages.append(
            Page(
                audience=audience,
                slug=match.group(2),
                title=first.lstrip("# ").strip(),
                source=rest,
            )
        )
    return tuple(pages)


def pages(audience: str) -> tuple[Page, ...]:
    return _pages(audience) if audience in AUDIENCES else ()


def page(audience: str, slug: str) -> Page | None:
    if not SLUG.match(slug or ""):
        return None
    return next((item for item in pages(audience) if item.slug == slug), None)


def values() -> dict[str, str]:
    """The configured figures a page may quote, in French."""
    config = current_app.config
    types = sorted({ext.lstrip(".").upper() for ext in ALLOWED_TYPES.values()})
    return {
        "taille_max": human_size(int(config["ATTACHMENT_MAX_BYTES"])),
        "nombre_max": str(int(config["ATTACHMENT_MAX_COUNT"])),
        "types": ", ".join(types),
        "delai_reponse": str(int(config["DEFAULT_DUE_DAYS"])),
        "delai_reouverture": str(settings.messaging().reopen_period_days),
        "archivage_ans": str(int(config["RETENTION_ARCHIVE_YEARS"])),
        "purge_ans": str(int(config["RETENTION_PURGE_YEARS"])),
        "notes_ans": str(int(config["RETENTION_NOTES_YEARS"])),
        "inactivite_minutes": str(int(config["SESSION_IDLE_MINUTES"])),
        "navigateur_jours": str(int(config["TAXPAYER_TRUSTED_BROWSER_DAYS"])),
    }


def filled(source: str, known: dict[str, str]) -> str:
    """The Markdown with each ``[[name]]`` replaced; an unknown name is left as written (a test
    checks that every page uses known names only)."""
    return _PLACEHOLDER.sub(lambda match: known.get(match.group(1), match.group(0)), source)


def placeholders(source: str) -> set[str]:
    return set(_PLACEHOLDER.findall(source))


def render(item: Page) -> Markup:
    html = _markdown().render(filled(item.source, values()))
    # Markdown's own output, every raw HTML of the page escaped ("html": False).
    return Markup(html)  # noqa: S704


GUIDE = "bonnes-pratiques"


def guide() -> Markup:
    """The guide of good practice shown beside the reply form: the agents' help page of that
    name, its headings two levels down (it sits under the form's own headings). Rendered once
    per process and per set of configured figures (it is on every case page)."""
    item = page(AGENT, GUIDE)
    if item is None:
        return Markup("")
    return _guide_html(item.source, tuple(sorted(values().items())))


@lru_cache(maxsize=8)
def _guide_html(source: str, known: tuple[tuple[str, str], ...]) -> Markup:
    shifted = re.sub(
        r"^(#{1,4}) ",
        lambda match: "#" * (len(match.group(1)) + 2) + " ",
        source,
        flags=re.MULTILINE,
    )
    return Markup(_markdown().render(filled(shifted, dict(known))))  # noqa: S704


def _fold(text: str) -> str:
    """Lower case, no accents: « Délai » finds « delai » and the reverse."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _plain(source: str) -> str:
    """The text of a page without the Markdown marks, for excerpts."""
    text = re.sub(r"[#*_`>|]+", " ", source)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def words(query: str) -> list[str]:
    return [word for word in re.split(r"\W+", _fold(query[:QUERY_MAX])) if len(word) > 1]


def search(audience: str, query: str) -> list[Hit]:
    """Pages holding every word of the query (accents and case ignored), the best first: a word
    in the title counts more than in the text."""
    terms = words(query)
    if not terms:
        return []
    known = values()
    hits = []
    for item in pages(audience):
        text = _plain(filled(item.source, known))
        title, body = _fold(item.title), _fold(text)
        if not all(term in title or term in body for term in terms):
            continue
        score = sum(5 * title.count(term) + body.count(term) for term in terms)
        hits.append(Hit(page=item, excerpt=_excerpt(text, body, terms[0]), score=score))
    return sorted(hits, key=lambda hit: (-hit.score, hit.page.title))


def _excerpt(text: str, folded: str, term: str) -> str:
    # Folding keeps the length of most French text; fall back on the start when it does not.
    at = folded.find(term) if len(folded) == len(text) else -1
    start = max(0, at - EXCERPT_CHARS // 2) if at >= 0 else 0
    excerpt = text[start : start + EXCERPT_CHARS].strip()
    prefix = "… " if start else ""
    suffix = " …" if start + EXCERPT_CHARS < len(text) else ""
    return f"{prefix}{excerpt}{suffix}"


def no_result_message(query: str) -> str:
    return _("Aucune page d'aide ne contient « %(query)s ».", query=query[:QUERY_MAX])
