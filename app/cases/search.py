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
    exists,
    func,
    or_,
    select,
    text,
    union_all,
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


def _newest_matches(agent: Any, query: str) -> ColumnElement[bool]:
    """PostgreSQL: the newest ``RESULT_LIMIT + 1`` cases matching by subject, and as many
    matching by a message, each found on its own (a UNION of two short queries).

    ``subject @@ q OR id IN (messages @@ q)`` made PostgreSQL collect every matching message of
    the country before ordering the office's cases: 22 s for a common word on 5 M messages.
    Apart, each side gets the plan its words call for, from the office's own statistics: a word
    common in the office walks its newest cases and stops at the limit; a rarer one reads the
    office's posting list (lexemes prefixed with the office id) and sorts those few cases. Either
    way the cost follows the office, not how common the words are in the country (decision
    0016)."""
    words = office_words(agent, query)
    newest = (Case.received_at.desc(), Case.id.desc())
    by_subject = (
        select(Case.id)
        .where(access.cases_visible_to(agent), _vector(Case.__table__).op("@@")(words))
        .order_by(*newest)
        .limit(RESULT_LIMIT + 1)
        .subquery()
    )
    by_message = (
        select(Case.id)
        .where(
            access.cases_visible_to(agent),
            exists().where(
                Message.case_id == Case.id,
                access.messages_of_cases_visible_to(agent),
                _vector(Message.__table__).op("@@")(words),
            ),
        )
        .order_by(*newest)
        .limit(RESULT_LIMIT + 1)
        .subquery()
    )
    return Case.id.in_(union_all(select(by_subject.c.id), select(by_message.c.id)))


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
    if _is_postgresql():
        # A parallel plan starts workers to walk a few hundred rows, and two cores serve many
        # agents: this transaction's search stays in one process.
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        criterion = _newest_matches(agent, query)
    else:
        criterion = text_match(query)
    _limited(db.session.scalars(_cases(agent, criterion)).all(), results)
    return results
