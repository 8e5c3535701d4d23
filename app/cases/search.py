"""The agents' search: by tax number or SIREN, by reference, and full text over subjects and
messages, always within what ``app.cases.access`` lets the agent see.

- A 13-digit number is a tax number, a 9-digit one a SIREN (spaces ignored): exact match on the
  taxpayer, whose summary sheet the agent may open (accueil de proximité), with the cases of
  that taxpayer the agent may open.
- A reference (``26-7K4M-Q2XD``) is matched exactly, whatever the case of the letters.
- Anything else is a full-text search over the cases' subjects and their messages (internal
  notes included: the agent's office sees them anyway). On PostgreSQL it uses the French
  configuration with accents ignored, read from the stored columns ``search_vector`` of
  ``case`` and ``message`` whose lexemes carry the office id (``'77:impot'``), with their GIN
  indexes (migration ``perf_message_office_search``, decision 0016): a search reads its office's
  posting lists only, and the planner knows how common each word is in that office. On SQLite
  it is a simple case-insensitive ``LIKE``. Words are searched in a period (decision 0022):
  the requests received in the last 3 years by default, the last 12 months, or the whole
  history by choice, and their messages written since; results newest first, paged by keyset.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Column,
    ColumnElement,
    Computed,
    Index,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
    text,
    union,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import joinedload, load_only
from sqlalchemy.sql.elements import BindParameter

from app.cases import access
from app.directory import access as directory_access
from app.platform.templating import PARIS
from models import Agent, Case, Message, Taxpayer, TaxpayerKind, db, utcnow

RESULT_LIMIT = 50
QUERY_MAX = 200
_REFERENCE = re.compile(r"^[0-9]{2}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


@dataclass
class SearchResults:
    query: str
    taxpayers: list[Taxpayer] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    # "identifier", "reference", "text" or "" (nothing searched).
    mode: str = ""
    truncated: bool = False
    # Full text: the period searched and its start (None: the whole history), the keyset
    # cursor of the next page (None: the last one) and whether this is the first.
    period: Period | None = None
    since: datetime | None = None
    next_cursor: str | None = None
    first_page: bool = True


def normalise(raw: str | None) -> str:
    return " ".join((raw or "").split())[:QUERY_MAX]


def identifier_kind(query: str) -> TaxpayerKind | None:
    digits = query.replace(" ", "").replace(".", "")
    if not digits.isdigit():
        return None
    if len(digits) == 13:
        return TaxpayerKind.INDIVIDUAL
    if len(digits) == 9:
        return TaxpayerKind.BUSINESS
    return None


def _is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


SEARCH_VECTOR = "search_vector"


def declare_full_text_indexes() -> None:
    """Declare the stored ``search_vector`` columns and their GIN indexes on the models'
    metadata, on PostgreSQL only (the migration creates them there alone; SQLite searches with
    LIKE). Called by the factory; idempotent."""
    if db.engine.dialect.name != "postgresql":
        return
    for name, table, column in (
        ("ix_case_search_vector", Case.__table__, "subject"),
        ("ix_message_search_vector", Message.__table__, "body"),
    ):
        if SEARCH_VECTOR in table.c:
            continue
        vector = Column(
            SEARCH_VECTOR,
            TSVECTOR,
            Computed(f"office_tsvector(office_id, {column})", persisted=True),
        )
        table.append_column(vector)
        Index(name, vector, postgresql_using="gin", _table=table)


def _vector(table: Any) -> ColumnElement[Any]:
    return table.c[SEARCH_VECTOR]


def office_words(agent: Any, query: str) -> ColumnElement[Any]:
    """The query's French lexemes prefixed with the agent's office id, like the documents'."""
    return func.office_tsquery(agent.office_id, query)


def _like(column: Any, query: str) -> ColumnElement[bool]:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


# How many of the office's newest cases the first pass of a full-text search reads.
WALK_CASES = 300
# The second pass reads the office's index in windows of reception dates going back from the
# walk's oldest case: the first spans at least this many days (more as the walk found fewer
# matches), each next one this many times the last.
FIRST_WINDOW_DAYS = 14
WINDOW_GROWTH = 4


@dataclass(frozen=True)
class Period:
    """How far back a full-text search looks: the requests received since its start (decision
    0022). ``years`` None is the whole history, an explicit choice of the agent."""

    key: str
    years: int | None
    label: Any  # a lazy French string


PERIODS = (
    Period("1", 1, _l("Les 12 derniers mois")),
    Period("3", 3, _l("Les 3 dernières années")),
    Period("tout", None, _l("Tout l'historique")),
)
DEFAULT_PERIOD = PERIODS[1]


def period_of(key: str | None) -> Period:
    return next((period for period in PERIODS if period.key == key), DEFAULT_PERIOD)


def period_start(period: Period, now: datetime) -> datetime | None:
    """Midnight (Paris) of the same day ``years`` ago, in UTC; None for the whole history."""
    if period.years is None:
        return None
    today = now.astimezone(PARIS).date()
    try:
        day = today.replace(year=today.year - period.years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - period.years, day=28)
    return datetime.combine(day, time.min, tzinfo=PARIS).astimezone(UTC)


Cursor = tuple[datetime, int]


def encode_cursor(case: Case) -> str:
    """The keyset cursor after ``case``: its reception time and id (newest first)."""
    return f"{case.received_at.astimezone(UTC):%Y%m%dT%H%M%S.%f}~{case.id}"


def decode_cursor(raw: str | None) -> Cursor | None:
    stamp, _, number = (raw or "").partition("~")
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC), int(number)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Bounds:
    """What a full-text search may read: the office's cases received since ``since`` and
    before the ``cursor``, and the messages written since ``since`` (on PostgreSQL, what prunes
    the yearly partitions of ``message``, decision 0021) and before ``until``."""

    # Values, or the bound parameters of the windows' shared statement.
    since: datetime | BindParameter[Any] | None
    cursor: Cursor | tuple[BindParameter[Any], BindParameter[Any]] | None
    until: datetime

    def cases(self) -> list[ColumnElement[bool]]:
        criteria: list[ColumnElement[bool]] = []
        if self.since is not None:
            criteria.append(Case.received_at >= self.since)
        if self.cursor is not None:
            moment, case_id = self.cursor
            criteria.append(
                or_(Case.received_at < moment, and_(Case.received_at == moment, Case.id < case_id))
            )
        return criteria

    def messages(self) -> list[ColumnElement[bool]]:
        criteria = [Message.created_at < self.until]
        if self.since is not None:
            criteria.append(Message.created_at >= self.since)
        return criteria


def _recent_matches(agent: Any, query: str, bounds: _Bounds) -> Select[Any]:
    """PostgreSQL, first pass: among the office's ``WALK_CASES`` newest cases of the period,
    those whose subject or one of whose messages matches, tested row by row on the stored
    vectors (``ts_match_vq`` is ``@@`` without the GIN index: the planner would otherwise probe
    the index once per case). A word common in the office finds its 51 there and stops early.
    Each row also says how many cases were walked and which was the oldest: fewer than
    ``WALK_CASES`` and the walk read the whole period; else the second pass starts there."""
    words = office_words(agent, query)
    walk = (  # from the index (office_id, received_at, id) alone
        select(Case.id, Case.received_at)
        .where(access.cases_visible_to(agent), *bounds.cases())
        .order_by(Case.received_at.desc(), Case.id.desc())
        .limit(WALK_CASES)
        .subquery()
    )
    oldest_first = (walk.c.received_at, walk.c.id)
    recent = select(
        walk,
        func.count().over().label("walked"),
        func.first_value(walk.c.received_at).over(order_by=oldest_first).label("edge_at"),
        func.first_value(walk.c.id).over(order_by=oldest_first).label("edge_id"),
    ).subquery()
    in_message = (
        select(Message.id)
        .where(
            Message.case_id == recent.c.id,
            *bounds.messages(),
            func.ts_match_vq(_vector(Message.__table__), words),
        )
        .exists()
    )
    subject = func.ts_match_vq(_vector(Case.__table__), words)
    return (
        select(Case, recent.c.walked, recent.c.edge_at, recent.c.edge_id)
        .join(recent, recent.c.id == Case.id)
        .where(or_(subject, in_message))
        .options(*_ROW)
        .order_by(Case.received_at.desc(), Case.id.desc())
        .limit(RESULT_LIMIT + 1)
    )


def _indexed_matches(agent: Any, query: str, window: _Bounds) -> ColumnElement[bool]:
    """PostgreSQL, second pass: the office's cases received in the window that match by
    subject or by a message, read from the GIN indexes, whose posting lists are the office's
    own (lexemes prefixed with the office id, decision 0016); messages older than the window
    are not read (their partitions are pruned). A window costs the matches it holds, never
    what the country or the rest of the history holds."""
    words = office_words(agent, query)
    by_subject = select(Case.id).where(_vector(Case.__table__).op("@@")(words), *window.cases())
    by_message = select(Message.case_id).where(
        _vector(Message.__table__).op("@@")(words), *window.messages()
    )
    return Case.id.in_(union(by_subject, by_message))


# What a row of results shows (app/templates/agent/search.html, the access log's taxpayer):
# the columns of the case, its taxpayer and its assignee that the page reads, not the 75 of the
# three rows (psycopg and the ORM pay for every column of every statement).
_ROW = (
    load_only(
        Case.id,
        Case.reference,
        Case.taxpayer_id,
        Case.declared_identity,
        Case.subject,
        Case.status,
        Case.office_id,
        Case.assignee_id,
        Case.received_at,
        Case.withdrawn_at,
        Case.legal_hold,
    ),
    joinedload(Case.taxpayer).load_only(
        Taxpayer.kind,
        Taxpayer.tax_number,
        Taxpayer.siren,
        Taxpayer.first_name,
        Taxpayer.last_name,
        Taxpayer.company_name,
        Taxpayer.legal_hold,
    ),
    joinedload(Case.assignee).load_only(Agent.first_name, Agent.last_name),
)


def _cases(
    agent: Any, *criteria: ColumnElement[bool], limit: int | None = RESULT_LIMIT
) -> Select[Any]:
    """The cases matching ``criteria``, newest first, ``limit`` + 1 of them (None: as many as
    the bound parameter ``rows_wanted`` says)."""
    return (
        select(Case)
        .where(access.cases_visible_to(agent), *criteria)
        .options(*_ROW)
        .order_by(Case.received_at.desc(), Case.id.desc())
        .limit(bindparam("rows_wanted") if limit is None else limit + 1)
    )


def _limited(rows: Sequence[Any], results: SearchResults) -> None:
    results.cases = list(rows[:RESULT_LIMIT])
    results.truncated = len(rows) > RESULT_LIMIT


def _windows(bounds: _Bounds, upper: Cursor | None, first: timedelta) -> list[datetime | None]:
    """The lower ends of the second pass's windows, newest first: ``first`` back from ``upper``
    (else now), then each ``WINDOW_GROWTH`` times longer, the last one the period's start (None:
    the whole history)."""
    top = upper[0] if upper is not None else bounds.until
    assert bounds.since is None or isinstance(bounds.since, datetime)
    starts: list[datetime | None] = []
    span = first
    while bounds.since is None or top - span > bounds.since:
        if span > timedelta(days=366 * 12):  # beyond the retention period: the rest at once
            break
        starts.append(top - span)
        span *= WINDOW_GROWTH
    starts.append(bounds.since)
    return starts


def _first_window(bounds: _Bounds, found: Sequence[Any]) -> timedelta:
    """How far back the first window goes: the walk found ``len(found)`` matches in the time
    its cases span, so about that time × the matches still wanted / those found (× 1.5); none
    found, the word is rare in the office: 32 weeks at once."""
    shortest = timedelta(days=FIRST_WINDOW_DAYS)
    if not found:
        return shortest * WINDOW_GROWTH**2
    top = bounds.cursor[0] if bounds.cursor is not None else bounds.until
    assert isinstance(top, datetime)
    walked_span = top - found[0].edge_at
    wanted = RESULT_LIMIT + 1 - len(found)
    return max(shortest, walked_span * 1.5 * wanted / len(found))


def _full_text(agent: Any, query: str, bounds: _Bounds) -> list[Case]:
    """Up to ``RESULT_LIMIT`` + 1 matching cases, newest first, within ``bounds``."""
    if not _is_postgresql():
        in_messages = select(Message.case_id).where(_like(Message.body, query), *bounds.messages())
        match = or_(_like(Case.subject, query), Case.id.in_(in_messages))
        return list(db.session.scalars(_cases(agent, match, *bounds.cases())).all())
    # A parallel plan starts workers to walk a few hundred rows, and two cores serve many
    # agents: this transaction's search stays in one process.
    db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    found = db.session.execute(_recent_matches(agent, query, bounds)).all()
    rows: list[Case] = [row[0] for row in found]
    if len(rows) > RESULT_LIMIT:  # a word common in the office: found among the newest
        return rows
    upper = cast(Cursor | None, bounds.cursor)  # values here, never parameters
    if found:
        if found[0].walked < WALK_CASES:  # the walk read every case of the period
            return rows
        upper = (found[0].edge_at, found[0].edge_id)
    # Fewer than 51 among the newest cases: the office's index, window by window going back
    # from the walk's oldest case, each window a separate statement reading only its own
    # matches (and its years of messages), until 51 are found or the period is read. The
    # windows share their statement (bound parameters): built once, compiled once.
    statements: dict[tuple[bool, bool], Select[Any]] = {}
    for since in _windows(bounds, upper, _first_window(bounds, found)):
        shape = (since is not None, upper is not None)
        if shape not in statements:
            window = _Bounds(
                bindparam("window_start") if since is not None else None,
                (bindparam("window_end"), bindparam("window_end_id")) if upper else None,
                bounds.until,
            )
            statements[shape] = _cases(
                agent, _indexed_matches(agent, query, window), *window.cases(), limit=None
            )
        end, end_id = upper or (None, None)
        rows += db.session.scalars(
            statements[shape],
            {
                "window_start": since,
                "window_end": end,
                "window_end_id": end_id,
                "rows_wanted": RESULT_LIMIT + 1 - len(rows),
            },
        ).all()
        if len(rows) > RESULT_LIMIT or since is None:
            break
        upper = (since, 0)
    return rows


def search(
    agent: Any,
    raw: str | None,
    *,
    period: str | None = None,
    after: str | None = None,
    now: datetime | None = None,
) -> SearchResults:
    query = normalise(raw)
    chosen = period_of(period)
    results = SearchResults(query=query, period=chosen)
    if not query or not directory_access.handles_cases(agent):
        return results
    kind = identifier_kind(query)
    if kind is not None:
        digits = "".join(ch for ch in query if ch.isdigit())
        column = Taxpayer.tax_number if kind is TaxpayerKind.INDIVIDUAL else Taxpayer.siren
        results.mode = "identifier"
        results.taxpayers = list(
            db.session.scalars(
                select(Taxpayer).where(column == digits, access.taxpayers_visible_to(agent))
            )
        )
        if results.taxpayers:
            ids = [taxpayer.id for taxpayer in results.taxpayers]
            _limited(db.session.scalars(_cases(agent, Case.taxpayer_id.in_(ids))).all(), results)
        return results
    reference = query.upper()
    if _REFERENCE.match(reference):
        results.mode = "reference"
        _limited(db.session.scalars(_cases(agent, Case.reference == reference)).all(), results)
        if results.cases:
            return results
    if len(query) < 2:
        return results
    results.mode = "text"
    now = now or utcnow()
    results.since = period_start(chosen, now)
    cursor = decode_cursor(after)
    results.first_page = cursor is None
    rows = _full_text(agent, query, _Bounds(results.since, cursor, now + timedelta(days=1)))
    _limited(rows, results)
    if results.truncated:
        results.next_cursor = encode_cursor(results.cases[-1])
    return results
