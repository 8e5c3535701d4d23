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
  it is a simple case-insensitive ``LIKE``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Computed,
    Index,
    Select,
    func,
    or_,
    select,
    text,
    union,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import joinedload

from app.cases import access
from app.directory import access as directory_access
from models import Case, Message, Taxpayer, TaxpayerKind, db

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


def text_match(query: str) -> ColumnElement[bool]:
    """SQLite: cases whose subject or one of whose messages contains ``query`` (PostgreSQL
    searches with ``_newest_matches``)."""
    in_messages = select(Message.case_id).where(_like(Message.body, query))
    return or_(_like(Case.subject, query), Case.id.in_(in_messages))


# How many of the office's newest cases the first pass of a full-text search reads.
WALK_CASES = 300


def _recent_matches(agent: Any, query: str) -> ColumnElement[bool]:
    """PostgreSQL, first pass: among the office's ``WALK_CASES`` newest cases, those whose
    subject or one of whose messages matches, tested row by row on the stored vectors
    (``ts_match_vq`` is ``@@`` without the GIN index: the planner would otherwise probe the
    index once per case). A word common in the office finds its 51 there and stops early."""
    words = office_words(agent, query)
    recent = (
        select(Case.id, _vector(Case.__table__))
        .where(access.cases_visible_to(agent))
        .order_by(Case.received_at.desc(), Case.id.desc())
        .limit(WALK_CASES)
        .subquery()
    )
    in_message = (
        select(Message.id)
        .where(
            Message.case_id == recent.c.id,
            func.ts_match_vq(_vector(Message.__table__), words),
        )
        .exists()
    )
    subject = func.ts_match_vq(recent.c[SEARCH_VECTOR], words)
    return Case.id.in_(select(recent.c.id).where(or_(subject, in_message)))


def _indexed_matches(agent: Any, query: str) -> ColumnElement[bool]:
    """PostgreSQL, second pass (fewer than 51 matches among the newest cases, so the words are
    rare in the office): every case of the office matching by subject or by a message, read
    from the GIN indexes, whose posting lists are the office's own (lexemes prefixed with the
    office id). Either pass costs what the office holds, never what the country does
    (decision 0016)."""
    words = office_words(agent, query)
    by_subject = select(Case.id).where(_vector(Case.__table__).op("@@")(words))
    by_message = select(Message.case_id).where(_vector(Message.__table__).op("@@")(words))
    return Case.id.in_(union(by_subject, by_message))


def _cases(agent: Any, *criteria: ColumnElement[bool]) -> Select[Any]:
    return (
        select(Case)
        .where(access.cases_visible_to(agent), *criteria)
        .options(joinedload(Case.taxpayer), joinedload(Case.assignee))
        .order_by(Case.received_at.desc(), Case.id.desc())
        .limit(RESULT_LIMIT + 1)
    )


def _limited(rows: Sequence[Any], results: SearchResults) -> None:
    results.cases = list(rows[:RESULT_LIMIT])
    results.truncated = len(rows) > RESULT_LIMIT


def search(agent: Any, raw: str | None) -> SearchResults:
    query = normalise(raw)
    results = SearchResults(query=query)
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
    if not _is_postgresql():
        _limited(db.session.scalars(_cases(agent, text_match(query))).all(), results)
        return results
    # A parallel plan starts workers to walk a few hundred rows, and two cores serve many
    # agents: this transaction's search stays in one process.
    db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    rows = db.session.scalars(_cases(agent, _recent_matches(agent, query))).all()
    if len(rows) <= RESULT_LIMIT:  # not 51 among the newest: read the office's index
        rows = db.session.scalars(_cases(agent, _indexed_matches(agent, query))).all()
    _limited(rows, results)
    return results
