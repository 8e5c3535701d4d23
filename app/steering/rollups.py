"""Steering rollups, kept exact (docs/steering.md, "Rollups").

The steering figures of a period (cases received, answered, closed, on time, by channel, topic
and tax matter, and the time to first answer and to closing) are read from ``steering_count`` and
``steering_duration`` (models/steering.py) rather than from the million cases of a delegation:

- every office is a *node* whose rows sum its whole subtree, per day (grain ``d``) and per month
  (grain ``m``); a period reads the months it covers whole and the days at its two edges;
- every flush that creates, changes or deletes a case writes the case's steering
  attributes before (-1) and after (+1) into the ``steering_change`` journal, in the same
  transaction (an append-only table: writers never wait on each other);
- readers add the journal, expanded the same way, to the rollups: figures are exact at every
  moment, whether or not the journal has been folded;
- ``fold()`` (the worker's sweep; ``flask econtacts rollups fold``) moves the journal into the
  rollups; ``office_moved()`` moves an office's rows from its old ancestors to its new ones;
  ``rebuild()`` recomputes everything from the cases (after a bulk load;
  ``flask econtacts rollups rebuild``);
- transfers are rolled up per office pair (``steering_transfer``, every grain) in the
  transfer's own transaction: they are only added, or purged with their case
  (``transfers_deleted``), so they need no journal.

One SQL expansion (``_count_rows`` and ``_duration_rows``) serves the rebuild, the fold and the
readers, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from flask import g, has_request_context
from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    extract,
    func,
    inspect,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from app.platform.db import listen_once
from models import Case, Office, Transfer, db
from models.steering import SteeringChange, SteeringCount, SteeringDuration, SteeringTransfer

# The attributes of a case that the figures depend on (a change of any other is not journaled).
TRACKED = (
    "office_id",
    "received_at",
    "channel",
    "topic_id",
    "tax_matter_id",
    "first_answer_at",
    "closed_at",
    "due_at",
    "recording_office_id",
    "withdrawn_at",
)
# Dimensions of steering_count: the key is "" for "all", else the value as text.
ALL, CHANNEL, TOPIC, TAX_MATTER = "all", "channel", "topic", "tax_matter"
FIRST_ANSWER, CLOSING = "first_answer", "closing"
# Histogram buckets of a duration in hours: (from, width) — 1 h below 2 days, 4 h below 10 days,
# 1 day below 60 days, 1 week below a year, 30 days beyond.
BUCKETS: tuple[tuple[int, int], ...] = ((0, 1), (48, 4), (240, 24), (1440, 168), (8760, 720))
# The advisory lock that keeps two folds or rebuilds from running at once (PostgreSQL).
_LOCK_KEY = 7_315_001


def _postgresql() -> bool:
    return _DIALECT.get() == "postgresql"


# The dialect of the connection the SQL is built for (set by each entry point).
_DIALECT: ContextVar[str] = ContextVar("rollups_dialect", default="")


def _use(executor: Any) -> Any:
    """Note the executor's dialect (a Session or a Connection) and return it."""
    bind = executor.get_bind() if hasattr(executor, "get_bind") else executor
    _DIALECT.set(bind.dialect.name)
    return executor


# --- the source rows: cases, or the journal ------------------------------------------------


def _source_from_cases(sign: int = 1) -> Any:
    return select(literal(sign).label("sign"), *(getattr(Case, name) for name in TRACKED))


def _source_from_journal(up_to: int | None = None) -> Any:
    query = select(SteeringChange.sign, *(getattr(SteeringChange, name) for name in TRACKED))
    return query if up_to is None else query.where(SteeringChange.id <= up_to)


def _ancestry() -> Any:
    """(office_id, node_id) for every office and each of its ancestors, itself included."""
    ancestor = aliased(Office)
    return select(Office.id.label("office_id"), ancestor.id.label("node_id")).join(
        ancestor, Office.path.startswith(ancestor.path)
    )


GRAINS = ("d", "m", "y")


def _day(moment: Any, grain: str) -> ColumnElement[Any]:
    """The first day of the grain's period holding the moment (UTC)."""
    if _postgresql():
        utc = func.timezone("UTC", moment)
        unit = {"d": "day", "m": "month", "y": "year"}[grain]
        return cast(func.date_trunc(unit, utc), db.Date)
    modifier = {"d": (), "m": ("start of month",), "y": ("start of year",)}[grain]
    return func.date(moment, *modifier)


def _hours(end: Any, start: Any) -> ColumnElement[Any]:
    if _postgresql():
        return extract("epoch", end - start) / 3600.0
    # julianday's doubles are ~10 µs off: round to the millisecond, so that a whole hour stays one
    return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3) / 3600.0


def _floor(value: ColumnElement[Any]) -> ColumnElement[Any]:
    if _postgresql():
        return cast(func.floor(value), db.Integer)
    return cast(value, db.Integer)  # value >= 0 here: truncation is the floor


def _bucket(hours: ColumnElement[Any]) -> ColumnElement[Any]:
    """The lower bound (hours) of the histogram bucket of a duration; negative ones count as 0."""
    whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = [(hours < 0, literal(0))]
    for (start, width), (next_start, _w) in zip(BUCKETS, BUCKETS[1:], strict=False):
        whens.append((hours < next_start, start + width * _floor((hours - start) / width)))
    last, width = BUCKETS[-1]
    return case(*whens, else_=last + width * _floor((hours - last) / width))


def bucket_of(hours: float) -> int:
    """The Python twin of ``_bucket`` (tests and documentation)."""
    if hours < 0:
        return 0
    start, width = max(bucket for bucket in BUCKETS if hours >= bucket[0])
    return int(start + width * ((hours - start) // width))


def _handled_at(source: Any) -> ColumnElement[Any]:
    """When the office first handled the case: its first answer, else its closing; a
    case the taxpayer withdrew before any answer was not handled by the office."""
    closed_by_office = case((source.c.withdrawn_at.is_(None), source.c.closed_at), else_=None)
    return func.coalesce(source.c.first_answer_at, closed_by_office)


def _on_time_parts(source: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Answered on time, answered late (unanswered cases past due are counted live)."""
    answered = _handled_at(source)
    has_due = source.c.due_at.is_not(None)
    on_time = and_(has_due, answered.is_not(None), answered <= source.c.due_at)
    late = and_(has_due, answered.is_not(None), answered > source.c.due_at)
    return on_time, late


def _per_node(
    source: Any, ancestry: Any, columns: Sequence[Any], by: Sequence[Any], where: Any = None
) -> Select[Any]:
    """One part of an expansion: the source's cases summed per node of the tree (each
    case counts for its office and every ancestor) and per ``by``."""
    query = select(ancestry.c.node_id.label("node_id"), *columns).select_from(
        source.join(ancestry, ancestry.c.office_id == source.c.office_id)
    )
    if where is not None:
        query = query.where(where)
    return query.group_by(ancestry.c.node_id, *by)


def _attributed(source_query: Select[Any]) -> Any:
    """The source's cases, each attributed to the offices it counts for: its volume
    (``volume`` 1: received, by channel, topic and tax matter) to the office that recorded it
    (a phone, counter or letter contact) or else to its office, and its handling (answers,
    closing, on time, withdrawal, durations) to the office that holds it. A contact forwarded
    by the office that recorded it is thus two rows; every other case one."""
    raw = source_query.subquery("raw")
    handling = [raw.c[name] for name in TRACKED if name not in ("office_id", "recording_office_id")]
    same = or_(raw.c.recording_office_id.is_(None), raw.c.recording_office_id == raw.c.office_id)
    whole = select(raw.c.sign, raw.c.office_id, literal(1).label("volume"), *handling).where(same)
    volume = select(
        raw.c.sign,
        raw.c.recording_office_id.label("office_id"),
        literal(1).label("volume"),
        *(
            raw.c[name]
            if name in ("received_at", "channel", "topic_id", "tax_matter_id")
            else cast(null(), raw.c[name].type).label(name)
            for name in TRACKED
            if name not in ("office_id", "recording_office_id")
        ),
    ).where(~same)
    held = select(raw.c.sign, raw.c.office_id, literal(0).label("volume"), *handling).where(~same)
    return union_all(whole, volume, held).subquery("source")


def _dimension_keys(source: Any) -> dict[str, ColumnElement[Any]]:
    """The key of a source row in each dimension of steering_count ("" for "all")."""
    return {
        ALL: literal(""),
        CHANNEL: cast(source.c.channel, db.String),
        TOPIC: cast(source.c.topic_id, db.String),
        TAX_MATTER: func.coalesce(cast(source.c.tax_matter_id, db.String), ""),
    }


def _count_values(source: Any) -> dict[str, ColumnElement[Any]]:
    """What one source row adds to each measure of steering_count (its sign, or 0)."""
    on_time, late = _on_time_parts(source)
    closed_by_office = and_(source.c.closed_at.is_not(None), source.c.withdrawn_at.is_(None))
    sign = source.c.sign
    return {
        "received": sign * source.c.volume,
        "answered": case((source.c.first_answer_at.is_not(None), sign), else_=0),
        "closed": case((closed_by_office, sign), else_=0),
        "on_time": case((on_time, sign), else_=0),
        "late_answered": case((late, sign), else_=0),
        "withdrawn": case((source.c.withdrawn_at.is_not(None), sign), else_=0),
    }


def _count_rows(source_query: Select[Any]) -> Select[Any]:
    """Rows of steering_count (summed by key) for the source's cases, every grain and
    dimension; signs add up, so the journal's -1/+1 pairs cancel."""
    source = _attributed(source_query)
    ancestry = _ancestry().subquery("ancestry")
    values = _count_values(source)
    parts = []
    for grain in GRAINS:
        day = _day(source.c.received_at, grain)
        for dimension, key in _dimension_keys(source).items():
            columns = [
                literal(grain).label("grain"),
                day.label("day"),
                literal(dimension).label("dimension"),
                key.label("key"),
                *(func.coalesce(func.sum(value), 0).label(m) for m, value in values.items()),
            ]
            parts.append(_per_node(source, ancestry, columns, by=(day, key)))
    return union_all(*parts).subquery("counts").select()


def _duration_ends(source: Any) -> tuple[tuple[str, ColumnElement[Any]], ...]:
    """Each measured duration's end (a withdrawn case has no closing time: the office did not
    close it); it starts when the case was received."""
    closing = case((source.c.withdrawn_at.is_(None), source.c.closed_at), else_=None)
    return ((FIRST_ANSWER, source.c.first_answer_at), (CLOSING, closing))


def _duration_rows(source_query: Select[Any]) -> Select[Any]:
    """Rows of steering_duration for the source's cases: both measures, every grain (a
    withdrawn case has no closing time: the office did not close it)."""
    source = _attributed(source_query)
    ancestry = _ancestry().subquery("ancestry")
    parts = []
    for measure, end in _duration_ends(source):
        hours = _hours(end, source.c.received_at)
        bucket = _bucket(hours)
        for grain in GRAINS:
            day = _day(source.c.received_at, grain)
            columns = [
                literal(grain).label("grain"),
                day.label("day"),
                literal(measure).label("measure"),
                bucket.label("bucket"),
                func.sum(source.c.sign).label("count"),
                cast(func.sum(source.c.sign * hours), Float).label("hours"),
            ]
            parts.append(
                _per_node(source, ancestry, columns, by=(day, bucket), where=end.is_not(None))
            )
    return union_all(*parts).subquery("durations").select()


def _transfer_rows(source_query: Select[Any]) -> Select[Any]:
    """Rows of steering_transfer for the source's transfers (columns ``sign``, ``created_at``,
    ``from_office_id``, ``to_office_id``): summed per grain, day and office pair."""
    source = source_query.subquery("source")
    parts = []
    for grain in GRAINS:
        day = _day(source.c.created_at, grain)
        parts.append(
            select(
                literal(grain).label("grain"),
                day.label("day"),
                source.c.from_office_id,
                source.c.to_office_id,
                func.sum(source.c.sign).label("count"),
            ).group_by(day, source.c.from_office_id, source.c.to_office_id)
        )
    return union_all(*parts).subquery("transfers").select()


def _source_from_transfers(sign: int = 1) -> Any:
    return select(
        literal(sign).label("sign"),
        Transfer.created_at,
        Transfer.from_office_id,
        Transfer.to_office_id,
    )


TRANSFER_COLUMNS = ("grain", "day", "from_office_id", "to_office_id")
COUNT_COLUMNS = ("node_id", "grain", "day", "dimension", "key")
COUNT_MEASURES = ("received", "answered", "closed", "on_time", "late_answered", "withdrawn")
DURATION_COLUMNS = ("node_id", "grain", "day", "measure", "bucket")
DURATION_MEASURES = ("count", "hours")


def _insert(model: Any) -> Any:
    return pg_insert(model) if _postgresql() else sqlite_insert(model)


def _add_into(
    run: Any, model: Any, rows: Select[Any], keys: Sequence[str], measures: Sequence[str]
) -> None:
    """INSERT the rows, adding their measures to the rows already there (an upsert)."""
    columns = [*keys, *measures]
    statement = _insert(model).from_select(columns, rows.where(true()))
    table = model.__table__
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: table.c[name] + statement.excluded[name] for name in measures},
    )
    run.execute(statement)


def _lock(run: Any) -> None:
    if _postgresql():
        run.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))


# --- writing: the journal, the fold, the rebuild ----------------------------------------------


def _snapshot(case_row: Case, sign: int, old: bool) -> dict[str, Any] | None:
    state: Any = inspect(case_row)
    values: dict[str, Any] = {"sign": sign}
    for name in TRACKED:
        attribute = state.attrs[name]
        history = attribute.history
        if old:
            if history.deleted:
                value = history.deleted[0]
            elif history.unchanged:
                value = history.unchanged[0]
            elif history.added:  # was None (active_history loaded it before the change)
                value = None
            else:
                value = attribute.value
        else:
            value = attribute.value
        values[name] = value
    if values["office_id"] is None or values["received_at"] is None:
        return None
    channel = values["channel"]
    values["channel"] = getattr(channel, "value", channel)
    return values


def _changed(case_row: Case) -> bool:
    state: Any = inspect(case_row)
    return any(state.attrs[name].history.has_changes() for name in TRACKED)


def load_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """before_flush: a case about to change a figure's attribute has all of them loaded, so
    that the journal knows its old values (attributes expired by a commit are read again)."""
    for instance in session.dirty:
        if isinstance(instance, Case) and _changed(instance):
            state: Any = inspect(instance)
            for name in TRACKED:
                if name in state.unloaded:
                    getattr(instance, name)


def journal_flush(session: Session, _context: Any) -> None:
    """after_flush: journal every case created, changed (a tracked attribute) or deleted."""
    rows: list[dict[str, Any]] = []
    for instance in session.new:
        if isinstance(instance, Case):
            row = _snapshot(instance, 1, old=False)
            if row:
                rows.append(row)
    for instance in session.dirty:
        if isinstance(instance, Case) and _changed(instance):
            for sign, old in ((-1, True), (1, False)):
                row = _snapshot(instance, sign, old)
                if row:
                    rows.append(row)
    for instance in session.deleted:
        if isinstance(instance, Case):
            row = _snapshot(instance, -1, old=True)
            if row:
                rows.append(row)
    if rows:
        session.connection().execute(SteeringChange.__table__.insert(), rows)
    transfer_ids = [i.id for i in session.new if isinstance(i, Transfer)]
    if transfer_ids:
        run = _use(session.connection())
        source = _source_from_transfers().where(Transfer.id.in_(transfer_ids))
        _add_into(run, SteeringTransfer, _transfer_rows(source), TRANSFER_COLUMNS, ("count",))


def journal_deleted(case_ids: Iterable[int]) -> None:
    """Before a bulk DELETE of cases (retention): journal them out."""
    ids = list(case_ids)
    if not ids:
        return
    source = _source_from_cases(sign=-1).where(Case.id.in_(ids))
    db.session.execute(SteeringChange.__table__.insert().from_select(["sign", *TRACKED], source))


def transfers_deleted(case_ids: Iterable[int]) -> None:
    """Before a bulk DELETE of the transfers of requests (retention): take them out."""
    ids = list(case_ids)
    if not ids:
        return
    run = _use(db.session)
    source = _source_from_transfers(sign=-1).where(Transfer.case_id.in_(ids))
    _add_into(run, SteeringTransfer, _transfer_rows(source), TRANSFER_COLUMNS, ("count",))
    run.execute(delete(SteeringTransfer).where(_is_zero(SteeringTransfer.count)))


def _ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part.isdigit()]


def office_moved(office_id: int, old_path: str, new_path: str) -> None:
    """An office (and its subtree) moved in the tree: its rows (which sum its subtree) leave its
    old ancestors and join its new ones, in the same transaction. The journal needs nothing: it
    is expanded with the paths of the moment it is read or folded."""
    run = _use(db.session)
    old = [i for i in _ids(old_path) if i != office_id]
    new = [i for i in _ids(new_path) if i != office_id]
    moves = [(node, -1) for node in old if node not in new]
    moves += [(node, 1) for node in new if node not in old]
    if not moves:
        return
    _lock(run)
    for model, keys, measures in (
        (SteeringCount, COUNT_COLUMNS, COUNT_MEASURES),
        (SteeringDuration, DURATION_COLUMNS, DURATION_MEASURES),
    ):
        table = model.__table__
        for node, sign in moves:
            rows = select(
                literal(node).label("node_id"),
                *(table.c[k] for k in keys[1:]),
                *((table.c[m] * sign).label(m) for m in measures),
            ).where(table.c.node_id == office_id)
            _add_into(run, model, rows, keys, measures)
    _drop_empty(run)


def _is_zero(column: Any) -> Any:
    """``column = 0`` with the 0 written in the SQL, not bound: a prepared (generic) plan could
    not prove the partial index ``ix_steering_*_empty`` (models/steering.py) applies."""
    return column == literal_column("0")


def _drop_empty(run: Any) -> None:
    """Rows that came back to nothing (cases moved away) are dropped."""
    run.execute(
        delete(SteeringCount).where(*(_is_zero(getattr(SteeringCount, m)) for m in COUNT_MEASURES))
    )
    run.execute(delete(SteeringDuration).where(_is_zero(SteeringDuration.count)))


def fold() -> int:
    """Move the journal into the rollups; returns how many journal rows were folded."""
    run = _use(db.session)
    _lock(run)
    up_to = run.scalar(select(func.max(SteeringChange.id)))
    if up_to is None:
        return 0
    folded = run.scalar(select(func.count()).where(SteeringChange.id <= up_to)) or 0
    source = _source_from_journal(up_to)
    _add_into(run, SteeringCount, _count_rows(source), COUNT_COLUMNS, COUNT_MEASURES)
    _add_into(run, SteeringDuration, _duration_rows(source), DURATION_COLUMNS, DURATION_MEASURES)
    run.execute(delete(SteeringChange).where(SteeringChange.id <= up_to))
    _drop_empty(run)
    return int(folded)


def rebuild() -> None:
    """Recompute every rollup from the cases (the journal is emptied: it is included)."""
    rebuild_with(db.session)


def rebuild_with(executor: Any, *, transfers: bool = True) -> None:
    """``rebuild`` on a given Session or Connection (the migrations use Alembic's; those that
    run before ``steering_transfer`` exists leave the transfers out, whatever ``transfers``)."""
    run = _use(executor)
    connection = run if isinstance(run, Connection) else run.connection()
    transfers = transfers and inspect(connection).has_table(SteeringTransfer.__tablename__)
    _lock(run)
    if _postgresql():
        # Writers wait (their journal rows would otherwise be lost between the two steps).
        run.execute(text("LOCK TABLE steering_change IN EXCLUSIVE MODE"))
    run.execute(delete(SteeringChange))
    run.execute(delete(SteeringCount))
    run.execute(delete(SteeringDuration))
    if transfers:
        run.execute(delete(SteeringTransfer))
        run.execute(
            SteeringTransfer.__table__.insert().from_select(
                [*TRANSFER_COLUMNS, "count"], _transfer_rows(_source_from_transfers())
            )
        )
    source = _source_from_cases()
    run.execute(
        SteeringCount.__table__.insert().from_select(
            [*COUNT_COLUMNS, *COUNT_MEASURES], _count_rows(source)
        )
    )
    run.execute(
        SteeringDuration.__table__.insert().from_select(
            [*DURATION_COLUMNS, *DURATION_MEASURES], _duration_rows(source)
        )
    )


def install() -> None:
    """Journal every flush of every session (from the factory)."""
    listen_once(Session, "before_flush", load_before_flush)
    listen_once(Session, "after_flush", journal_flush)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A period [start, end) of whole days, read as year rows for the years it covers whole,
    month rows for the whole months left, and day rows for the days left at its edges."""

    start: date
    end: date

    def pieces(self) -> list[tuple[str, date, date]]:
        """(grain, from, to) ranges of rows covering the window exactly once."""
        first_month = self.start if self.start.day == 1 else _next_month(self.start)
        last_month = self.end.replace(day=1)
        if first_month >= last_month:
            return [("d", self.start, self.end)]
        pieces = [("d", self.start, first_month), ("d", last_month, self.end)]
        first_year = first_month if first_month.month == 1 else date(first_month.year + 1, 1, 1)
        last_year = date(last_month.year, 1, 1)
        if first_year >= last_year:
            pieces.append(("m", first_month, last_month))
        else:
            pieces += [
                ("m", first_month, first_year),
                ("y", first_year, last_year),
                ("m", last_year, last_month),
            ]
        return [(grain, low, high) for grain, low, high in pieces if low < high]


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


# Each reading statement is built once per dialect and shape (the grains of the window's pieces),
# with the nodes and the days as bound parameters: building and hashing a statement of this size
# cost more CPU than running it.


def _among_nodes(column: Any) -> ColumnElement[bool]:
    """``column`` is one of the ``nodes`` parameter's (one array on PostgreSQL: one statement
    text whatever their number)."""
    if _postgresql():
        return column == any_(bindparam("nodes", type_=ARRAY(Integer)))
    return column.in_(bindparam("nodes", expanding=True))


def _day_param(name: str) -> Any:
    return bindparam(name, type_=Date)


def _stored(table: Any, columns: Sequence[str], grains: Sequence[str], nodes: bool) -> list[Any]:
    """The stored rows of the window's pieces (``grains``; days ``low_<i>`` to ``high_<i>``),
    of the ``nodes`` when asked: one range scan of the covering index per piece (an OR of
    ranges would make PostgreSQL fetch every row from the heap)."""
    return [
        select(*(table.c[name] for name in columns)).where(
            _among_nodes(table.c.node_id) if nodes else true(),
            table.c.grain == grain,
            table.c.day >= _day_param(f"low_{number}"),
            table.c.day < _day_param(f"high_{number}"),
        )
        for number, grain in enumerate(grains)
    ]


def window_params(window: Window, nodes: Sequence[int] = ()) -> dict[str, Any]:
    params: dict[str, Any] = {"nodes": list(nodes), "start": window.start, "end": window.end}
    for number, (_grain, low, high) in enumerate(window.pieces()):
        params[f"low_{number}"] = low
        params[f"high_{number}"] = high
    return params


def _grains(window: Window) -> tuple[str, ...]:
    return tuple(grain for grain, _low, _high in window.pieces())


def _pending(columns: dict[str, Callable[[Any], ColumnElement[Any]]]) -> Any:
    """The journal's cases received in the window (days ``start`` to ``end``), attributed
    (``_attributed``), one row per case and node among ``nodes`` it counts under, with
    ``columns``: a CTE, rendered once in the statement. Its grain does not matter: every
    journal row falls in the window or not."""
    source = _attributed(_source_from_journal())
    ancestry = _ancestry().subquery("ancestry")
    day = _day(source.c.received_at, "d")
    return (
        select(
            ancestry.c.node_id.label("node_id"),
            day.label("day"),
            *(make(source).label(name) for name, make in columns.items()),
        )
        .select_from(source.join(ancestry, ancestry.c.office_id == source.c.office_id))
        .where(
            _among_nodes(ancestry.c.node_id),
            day >= _day_param("start"),
            day < _day_param("end"),
        )
        .cte("pending")
    )


@cache
def _counts_statement(dialect: str, grains: tuple[str, ...]) -> Select[Any]:
    def key(dimension: str) -> Callable[[Any], ColumnElement[Any]]:
        return lambda source: _dimension_keys(source)[dimension]

    def value(measure: str) -> Callable[[Any], ColumnElement[Any]]:
        return lambda source: _count_values(source)[measure]

    dimensions = (CHANNEL, TOPIC, TAX_MATTER)
    pending = _pending({**{d: key(d) for d in dimensions}, **{m: value(m) for m in COUNT_MEASURES}})
    journal = [
        select(
            pending.c.node_id,
            literal(dimension).label("dimension"),
            (literal("") if dimension == ALL else pending.c[dimension]).label("key"),
            *(func.sum(pending.c[m]).label(m) for m in COUNT_MEASURES),
        ).group_by(pending.c.node_id, *(() if dimension == ALL else (pending.c[dimension],)))
        for dimension in (ALL, *dimensions)
    ]
    columns = ["node_id", "dimension", "key", *COUNT_MEASURES]
    stored = _stored(SteeringCount.__table__, columns, grains, nodes=True)
    rows = union_all(*stored, *journal).subquery("rows")
    return select(
        rows.c.node_id,
        rows.c.dimension,
        rows.c.key,
        *(func.sum(rows.c[m]).label(m) for m in COUNT_MEASURES),
    ).group_by(rows.c.node_id, rows.c.dimension, rows.c.key)


def counts(nodes: Sequence[int], window: Window) -> dict[tuple[int, str, str], dict[str, int]]:
    """{(node, dimension, key): {measure: sum}} over the window, every dimension at once
    (remembered for the rest of the request: a dashboard asks for several dimensions)."""
    if not nodes:
        return {}
    memo_key = ("rollups.counts", tuple(sorted(nodes)), window)
    memo = g.setdefault("rollups_memo", {}) if has_request_context() else {}
    if memo_key in memo:
        cached: dict[tuple[int, str, str], dict[str, int]] = memo[memo_key]
        return cached
    _use(db.session)
    statement = _counts_statement(_DIALECT.get(), _grains(window))
    result = {
        (node_id, dimension, key): dict(zip(COUNT_MEASURES, map(int, measures), strict=True))
        for node_id, dimension, key, *measures in db.session.execute(
            statement, window_params(window, nodes)
        )
    }
    memo[memo_key] = result
    return result


def transfer_rows(window: Window) -> Any:
    """(from_office_id, to_office_id, count) rows of the transfers made in the window, per
    piece of it (a subquery to sum per pair); its parameters: ``window_params(window)``."""
    columns = ["from_office_id", "to_office_id", "count"]
    stored = _stored(SteeringTransfer.__table__, columns, _grains(window), nodes=False)
    return union_all(*stored).subquery("transfers")


def transfer_pairs(offices: Select[Any], window: Window) -> list[tuple[int, int, int]]:
    """(from office, to office, count) of the transfers made in the window that leave or enter
    ``offices`` (a SELECT of office ids): one range scan per piece of the window."""
    _use(db.session)
    stored = transfer_rows(window)
    total = func.sum(stored.c.count)
    query = (
        select(stored.c.from_office_id, stored.c.to_office_id, total)
        .where(or_(stored.c.from_office_id.in_(offices), stored.c.to_office_id.in_(offices)))
        .group_by(stored.c.from_office_id, stored.c.to_office_id)
        .having(total > 0)
    )
    rows = db.session.execute(query, window_params(window))
    return [(int(a), int(b), int(n)) for a, b, n in rows]


def _week(day: Any) -> ColumnElement[Any]:
    """The Monday of a day's week."""
    if _postgresql():
        return cast(func.date_trunc("week", cast(day, db.DateTime)), db.Date)
    return func.date(day, "weekday 0", "-6 days")


@cache
def _series_statement(dialect: str, weekly: bool) -> Select[Any]:
    table = SteeringCount.__table__
    pending = _pending({"received": lambda source: _count_values(source)["received"]})
    stored = select(table.c.node_id, table.c.day, table.c.received).where(
        _among_nodes(table.c.node_id),
        table.c.grain == "d",
        table.c.dimension == ALL,
        table.c.day >= _day_param("start"),
        table.c.day < _day_param("end"),
    )
    journal = select(pending.c.node_id, pending.c.day, pending.c.received)
    rows = union_all(stored, journal).subquery("rows")
    bucket = _week(rows.c.day) if weekly else rows.c.day
    return select(rows.c.node_id, bucket, func.sum(rows.c.received)).group_by(
        rows.c.node_id, bucket
    )


def received_series(
    terms: Sequence[tuple[int, int]], window: Window, weekly: bool
) -> dict[date, int]:
    """Cases received per day (or per week, keyed by its Monday) in the window, summed over
    ``terms`` (sign, node): a row per node and day or week, summed in SQL."""
    if not terms:
        return {}
    _use(db.session)
    sign_of = {node: sign for sign, node in terms}
    statement = _series_statement(_DIALECT.get(), weekly)
    result: dict[date, int] = {}
    for node_id, day, received in db.session.execute(
        statement, window_params(window, sorted(sign_of))
    ):
        value = day if isinstance(day, date) else date.fromisoformat(str(day))
        result[value] = result.get(value, 0) + sign_of[node_id] * int(received or 0)
    return result


@cache
def _histograms_statement(dialect: str, grains: tuple[str, ...]) -> Select[Any]:
    def hours(measure: str) -> Callable[[Any], ColumnElement[Any]]:
        return lambda source: _hours(dict(_duration_ends(source))[measure], source.c.received_at)

    measures = (FIRST_ANSWER, CLOSING)
    pending = _pending(
        {"sign": lambda source: source.c.sign, **{f"{m}_hours": hours(m) for m in measures}}
    )
    journal = [
        select(
            pending.c.node_id,
            literal(measure).label("measure"),
            _bucket(pending.c[f"{measure}_hours"]).label("bucket"),
            pending.c.sign.label("count"),
            cast(pending.c.sign * pending.c[f"{measure}_hours"], Float).label("hours"),
        ).where(pending.c[f"{measure}_hours"].is_not(None))
        for measure in measures
    ]
    columns = ["node_id", "measure", "bucket", *DURATION_MEASURES]
    stored = _stored(SteeringDuration.__table__, columns, grains, nodes=True)
    rows = union_all(*stored, *journal).subquery("rows")
    return (
        select(
            rows.c.node_id,
            rows.c.measure,
            rows.c.bucket,
            func.sum(rows.c["count"]).label("n"),
            func.sum(rows.c.hours).label("h"),
        )
        .group_by(rows.c.node_id, rows.c.measure, rows.c.bucket)
        .order_by(rows.c.node_id, rows.c.measure, rows.c.bucket)
    )


def histograms(
    nodes: Sequence[int], window: Window
) -> dict[tuple[int, str], list[tuple[int, int, float]]]:
    """{(node, measure): [(bucket, count, hours), ...] sorted by bucket} over the window."""
    if not nodes:
        return {}
    _use(db.session)
    statement = _histograms_statement(_DIALECT.get(), _grains(window))
    result: dict[tuple[int, str], list[tuple[int, int, float]]] = {}
    for node_id, measure, bucket, count, hours in db.session.execute(
        statement, window_params(window, nodes)
    ):
        if count:
            result.setdefault((node_id, measure), []).append(
                (int(bucket), int(count), float(hours or 0))
            )
    return result


Histogram = list[tuple[int, int, float]]


def _weighted(terms: Iterable[tuple[int, Histogram]]) -> Histogram:
    """Σ sign × histogram, bucket by bucket; buckets left empty are dropped."""
    total: dict[int, tuple[int, float]] = {}
    for sign, histogram in terms:
        for bucket, count, hours in histogram:
            have = total.get(bucket, (0, 0.0))
            total[bucket] = (have[0] + sign * count, have[1] + sign * hours)
    return [(b, c, h) for b, (c, h) in sorted(total.items()) if c > 0]


def subtract(whole: Histogram, parts: Iterable[Histogram]) -> Histogram:
    """A histogram minus others (a node's own cases: the node less its children)."""
    return _weighted([(1, whole), *((-1, part) for part in parts)])


def merge(parts: Iterable[Histogram]) -> Histogram:
    return _weighted((1, part) for part in parts)


def percentile(histogram: Sequence[tuple[int, int, float]], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont`` over the durations, in days, each bucket's durations
    read as their mean: exact when a bucket holds equal values, else within the bucket's width
    (1 hour below 2 days, 4 hours below 10 days, 1 day below 60 days)."""
    total = sum(count for _b, count, _h in histogram)
    if total <= 0:
        return None
    rank = fraction * (total - 1)
    low_rank = int(rank)
    high_rank = min(low_rank + 1, total - 1)

    def value_at(index: int) -> float:
        seen = 0
        for _bucket, count, hours in histogram:
            if index < seen + count:
                return hours / count / 24
            seen += count
        _bucket, count, hours = histogram[-1]
        return hours / count / 24

    low = value_at(low_rank)
    high = value_at(high_rank)
    return low + (rank - low_rank) * (high - low)
