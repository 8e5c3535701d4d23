"""Steering figures (pilotage): SQL aggregates over the requests of a subtree of the office tree.

Every figure is computed by the database (GROUP BY, conditional sums, ``percentile_cont`` on
PostgreSQL); Python only folds a handful of aggregated rows. The scope of every query is
``app.access.offices_steered_by(user)``; a node (the office whose page is shown) out of scope is
``None`` here and a 404 in the view. See docs/steering.md for the precise definitions.

Vocabulary:

- the *node* is the office whose page is shown (``None``: the whole tree, administrators only);
- its *groups* are the rows of its tables: its children in the tree (a delegation's
  directorates, a directorate's offices), plus the node itself when requests sit directly in it;
  a leaf office is its own single group;
- the *members* subquery maps every office of the node's subtree (in scope) to its group, through
  the materialised path (``office.path LIKE child.path || '%'``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    Subquery,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import aliased

from app.access import is_admin, is_office_manager, is_steering, offices_steered_by
from app.templating import local
from models import Case, CaseStatus, Channel, Office, TaxMatter, Topic, Transfer, db
from models.agent import Agent
from models.event import Event, EventKind

# Backlog age buckets: (key, label, lowest age in days, highest age in days or None).
AGE_BUCKETS: tuple[tuple[str, Any, int, int | None], ...] = (
    ("0-2", _l("0 à 2 jours"), 0, 2),
    ("3-7", _l("3 à 7 jours"), 3, 7),
    ("8-30", _l("8 à 30 jours"), 8, 30),
    ("31+", _l("Plus de 30 jours"), 31, None),
)
# Beyond this many days a period is shown by week rather than by day.
DAILY_LIMIT_DAYS = 62
# The longest period one may ask for.
MAX_PERIOD_DAYS = 3 * 366 + 1
PRESETS = ("7j", "30j", "90j", "mois", "mois-precedent", "annee")
DEFAULT_PRESET = "30j"


# --- the period ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole days ``first_day`` .. ``last_day`` (UTC), i.e. ``[start, end)`` in time."""

    first_day: date
    last_day: date
    preset: str | None = None

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, datetime.min.time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def granularity(self) -> str:
        return "day" if self.days <= DAILY_LIMIT_DAYS else "week"

    def buckets(self) -> list[date]:
        """Every day (or Monday of every week) of the period, for a series without gaps."""
        if self.granularity == "day":
            return [self.first_day + timedelta(days=n) for n in range(self.days)]
        monday = self.first_day - timedelta(days=self.first_day.weekday())
        weeks = []
        while monday <= self.last_day:
            weeks.append(monday)
            monday += timedelta(days=7)
        return weeks


def preset_period(preset: str, today: date) -> Period:
    if preset == "7j":
        return Period(today - timedelta(days=6), today, preset)
    if preset == "90j":
        return Period(today - timedelta(days=89), today, preset)
    if preset == "mois":
        return Period(today.replace(day=1), today, preset)
    if preset == "mois-precedent":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(last.replace(day=1), last, preset)
    if preset == "annee":
        return Period(today.replace(month=1, day=1), today, preset)
    return Period(today - timedelta(days=29), today, DEFAULT_PRESET)


def parse_period(
    args: Any, today: date | None = None
) -> tuple[Period, dict[str, str], dict[str, str]]:
    """The period asked by the query string (``periode`` preset, or ``du``/``au`` dates).

    Returns the period, the values to show back in the form and the errors (field → French
    message); on an error the default period is used and the form keeps what was typed.
    """
    today = today or datetime.now(UTC).date()
    typed = {name: (args.get(name) or "").strip() for name in ("du", "au", "periode")}
    errors: dict[str, str] = {}
    if typed["du"] or typed["au"]:
        days: dict[str, date] = {}
        for name in ("du", "au"):
            try:
                days[name] = date.fromisoformat(typed[name])
            except ValueError:
                errors[name] = _("Saisissez une date valide (jour, mois, année).")
        if not errors:
            if days["du"] > days["au"]:
                errors["au"] = _("La date de fin doit être postérieure à la date de début.")
            elif (days["au"] - days["du"]).days + 1 > MAX_PERIOD_DAYS:
                errors["au"] = _("La période ne peut dépasser trois ans.")
            else:
                return Period(days["du"], days["au"]), typed, errors
        return preset_period(DEFAULT_PRESET, today), typed, errors
    preset = typed["periode"] if typed["periode"] in PRESETS else DEFAULT_PRESET
    period = preset_period(preset, today)
    typed.update(du=period.first_day.isoformat(), au=period.last_day.isoformat(), periode=preset)
    return period, typed, errors


# --- percentiles -----------------------------------------------------------------------------


def percentile_cont(sorted_values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont``: linear interpolation between the closest ranks."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(sorted_values[low])
    weight = position - low
    return float(sorted_values[low] * (1 - weight) + sorted_values[high] * weight)


# --- scope and the tree ----------------------------------------------------------------------


@dataclass
class Group:
    id: int
    name: str
    kind_label: str
    drillable: bool


@dataclass
class Node:
    """The page's office (``office`` None: every root the user sees) and its groups."""

    office: Office | None
    groups: list[Group]
    breadcrumbs: list[Office]
    leaf: bool

    @property
    def id(self) -> int | None:
        return self.office.id if self.office is not None else None

    @property
    def name(self) -> str:
        return self.office.name if self.office is not None else _("Ensemble des services")


def steering_root(user: Any) -> Office | None:
    """The office a user's steering starts from (None: the whole tree, for administrators)."""
    if is_admin(user):
        return None
    if (is_steering(user) or is_office_manager(user)) and user.office is not None:
        office: Office = user.office
        return office
    return None


def resolve_node(user: Any, office_id: int | None) -> Node | None:
    """The node of a steering page, or None when the user may not see it (the view: 404)."""
    scope = offices_steered_by(user)
    if office_id is None:
        root = steering_root(user)
        if root is None and not is_admin(user):
            return None
        office_id = root.id if root is not None else None
    office = None
    if office_id is not None:
        office = db.session.scalar(select(Office).where(Office.id == office_id, scope))
        if office is None:
            return None
    child_filter = Office.parent_id.is_(None) if office is None else Office.parent_id == office.id
    children = db.session.scalars(select(Office).where(child_filter, scope).order_by(Office.name))
    groups = [Group(c.id, c.name, str(c.kind.label), True) for c in children]
    leaf = office is not None and not groups
    if office is not None:
        # The node's own requests (a leaf office; rarely, a directorate) form a group of its own.
        groups.insert(0, Group(office.id, office.name, str(office.kind.label), False))
    return Node(office, groups, _breadcrumbs(user, office), leaf)


def _breadcrumbs(user: Any, office: Office | None) -> list[Office]:
    if office is None:
        return []
    ids = [int(part) for part in office.path.strip("/").split("/") if part]
    rows = db.session.scalars(
        select(Office).where(Office.id.in_(ids), offices_steered_by(user))
    ).all()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def members(user: Any, node: Node) -> Subquery:
    """(office_id, group_id) for every office in scope under the node."""
    child = aliased(Office)
    scope = offices_steered_by(user)
    if node.office is None:
        child_filter: ColumnElement[bool] = child.parent_id.is_(None)
    else:
        child_filter = child.parent_id == node.office.id
    below = (
        select(Office.id.label("office_id"), child.id.label("group_id"))
        .join(child, and_(child_filter, Office.path.startswith(child.path)))
        .where(scope)
    )
    if node.office is None:
        return below.subquery("members")
    itself = select(Office.id.label("office_id"), Office.id.label("group_id")).where(
        Office.id == node.office.id, scope
    )
    return union_all(below, itself).subquery("members")


def _in_subtree(member_rows: Subquery) -> ColumnElement[bool]:
    return Case.office_id.in_(select(member_rows.c.office_id))


def _received_in(period: Period) -> ColumnElement[bool]:
    return and_(Case.received_at >= period.start, Case.received_at < period.end)


def _is_postgresql() -> bool:
    return bool(db.session.get_bind().dialect.name == "postgresql")


def _days_between(end: Any, start: Any) -> ColumnElement[Any]:
    """``end - start`` in days (a float), NULL when either is NULL."""
    if _is_postgresql():
        return cast(extract("epoch", end - start), Float) / 86400.0
    return cast(func.julianday(end) - func.julianday(start), Float)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# --- indicators per group --------------------------------------------------------------------


@dataclass
class Handling:
    """Requests received in the period: how fast and how often on time they were answered."""

    received: int = 0
    answered: int = 0
    closed: int = 0
    on_time: int = 0
    late: int = 0
    first_answer_median: float | None = None
    first_answer_p90: float | None = None
    closing_median: float | None = None
    closing_p90: float | None = None

    @property
    def settled(self) -> int:
        """Requests whose on-time outcome is known (the denominator of the share)."""
        return self.on_time + self.late

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.settled * 100 if self.settled else None


@dataclass
class Backlog:
    """Requests open now."""

    open: int = 0
    awaiting_taxpayer: int = 0
    buckets: dict[str, int] = field(default_factory=lambda: {b[0]: 0 for b in AGE_BUCKETS})
    oldest: datetime | None = None


def _answered_at() -> ColumnElement[datetime]:
    """The first handling of a request: its first answer, or its closing without one."""
    return func.coalesce(Case.first_answer_at, Case.closed_at)


def on_time_conditions(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    answered = _answered_at()
    has_due = Case.due_at.is_not(None)
    on_time = and_(has_due, answered.is_not(None), answered <= Case.due_at)
    late = and_(
        has_due,
        or_(
            and_(answered.is_not(None), answered > Case.due_at),
            and_(answered.is_(None), Case.due_at < now),
        ),
    )
    return on_time, late


def handling(
    user: Any, node: Node, period: Period, now: datetime
) -> tuple[dict[int, Handling], Handling]:
    """Per group and in total: received, answered, closed, percentiles, on time."""
    rows = members(user, node)
    on_time, late = on_time_conditions(now)
    first = _days_between(Case.first_answer_at, Case.received_at)
    closing = _days_between(Case.closed_at, Case.received_at)
    counts = [
        func.count().label("received"),
        _count(Case.first_answer_at.is_not(None)).label("answered"),
        _count(Case.closed_at.is_not(None)).label("closed"),
        _count(on_time).label("on_time"),
        _count(late).label("late"),
    ]
    base = Case.__table__.join(rows, Case.office_id == rows.c.office_id)
    where = _received_in(period)
    result: dict[int, Handling] = {}
    total = Handling()
    if _is_postgresql():
        # One sort per duration: both fractions at once (an array of two).
        fractions = array([0.5, 0.9])
        percentiles = [
            func.percentile_cont(fractions).within_group(first).label("first"),
            func.percentile_cont(fractions).within_group(closing).label("closing"),
        ]
        query = (
            select(rows.c.group_id, *counts, *percentiles)
            .select_from(base)
            .where(where)
            .group_by(func.rollup(rows.c.group_id))
        )
        for row in db.session.execute(query):
            figures = Handling(row.received, row.answered, row.closed, row.on_time, row.late)
            for prefix, pair in (("first_answer", row.first), ("closing", row.closing)):
                median, p90 = pair or (None, None)
                setattr(figures, f"{prefix}_median", None if median is None else float(median))
                setattr(figures, f"{prefix}_p90", None if p90 is None else float(p90))
            if row.group_id is None:
                total = figures
            else:
                result[row.group_id] = figures
        return result, total
    # SQLite (single machine): counts in SQL, percentiles from the sorted durations (docs).
    query = select(rows.c.group_id, *counts).select_from(base).where(where)
    for row in db.session.execute(query.group_by(rows.c.group_id)):
        result[row.group_id] = Handling(
            row.received, row.answered, row.closed, row.on_time, row.late
        )
        for name in ("received", "answered", "closed", "on_time", "late"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    for duration, prefix in ((first, "first_answer"), (closing, "closing")):
        values: dict[int, list[float]] = {}
        every: list[float] = []
        query = (
            select(rows.c.group_id, duration.label("d"))
            .select_from(base)
            .where(where, duration.is_not(None))
            .order_by("d")
        )
        for group_id, value in db.session.execute(query):
            values.setdefault(group_id, []).append(value)
            every.append(value)
        for group_id, sorted_values in values.items():
            setattr(result[group_id], f"{prefix}_median", percentile_cont(sorted_values, 0.5))
            setattr(result[group_id], f"{prefix}_p90", percentile_cont(sorted_values, 0.9))
        setattr(total, f"{prefix}_median", percentile_cont(every, 0.5))
        setattr(total, f"{prefix}_p90", percentile_cont(every, 0.9))
    return result, total


def backlog(user: Any, node: Node, now: datetime) -> tuple[dict[int, Backlog], Backlog]:
    """Open requests per group: by age bucket, awaiting the taxpayer, the oldest."""
    rows = members(user, node)
    columns = [
        func.count().label("open"),
        _count(Case.status == CaseStatus.AWAITING_TAXPAYER).label("awaiting"),
        func.min(Case.received_at).label("oldest"),
    ]
    for key, _label, low, high in AGE_BUCKETS:
        # Age in whole days = floor((now - received) / 1 day).
        condition = Case.received_at <= now - timedelta(days=low)
        if high is not None:
            condition = and_(condition, Case.received_at > now - timedelta(days=high + 1))
        columns.append(_count(condition).label(f"b{key}"))
    query = (
        select(rows.c.group_id, *columns)
        .select_from(Case.__table__.join(rows, Case.office_id == rows.c.office_id))
        .where(Case.status != CaseStatus.CLOSED)
        .group_by(rows.c.group_id)
    )
    result: dict[int, Backlog] = {}
    total = Backlog()
    for row in db.session.execute(query):
        figures = Backlog(
            row.open,
            row.awaiting,
            {key: getattr(row, f"b{key}") for key, *_rest in AGE_BUCKETS},
            row.oldest,
        )
        result[row.group_id] = figures
        total.open += figures.open
        total.awaiting_taxpayer += figures.awaiting_taxpayer
        for key in total.buckets:
            total.buckets[key] += figures.buckets[key]
        if figures.oldest is not None and (total.oldest is None or figures.oldest < total.oldest):
            total.oldest = figures.oldest
    return result, total


def received_series(user: Any, node: Node, period: Period) -> list[tuple[date, int]]:
    """Requests received per day (or per week, Monday first), with the empty days."""
    rows = members(user, node)
    if _is_postgresql():
        unit = "day" if period.granularity == "day" else "week"
        bucket: Any = func.date_trunc(unit, func.timezone("UTC", Case.received_at))
    elif period.granularity == "day":
        bucket = func.date(Case.received_at)
    else:
        bucket = func.date(Case.received_at, "weekday 0", "-6 days")
    bucket = bucket.label("bucket")
    query = (
        select(bucket, func.count()).where(_in_subtree(rows), _received_in(period)).group_by(bucket)
    )
    counts: dict[date, int] = {}
    for value, count in db.session.execute(query):
        day = value.date() if isinstance(value, datetime) else date.fromisoformat(str(value))
        counts[day] = counts.get(day, 0) + count
    return [(day, counts.get(day, 0)) for day in period.buckets()]


@dataclass
class Share:
    label: str
    count: int


def _shares(query: Select[Any] | Any, labels: dict[Any, str], missing: str) -> list[Share]:
    shares = [
        Share(labels.get(key, missing) if key is not None else missing, count)
        for key, count in db.session.execute(query)
    ]
    return sorted(shares, key=lambda s: (-s.count, s.label))


def by_channel(user: Any, node: Node, period: Period) -> list[Share]:
    query = (
        select(Case.channel, func.count())
        .where(_in_subtree(members(user, node)), _received_in(period))
        .group_by(Case.channel)
    )
    return _shares(query, {c: str(c.label) for c in Channel}, _("Non précisé"))


def by_topic(user: Any, node: Node, period: Period) -> list[Share]:
    """By topic, sub-topics counted under their parent topic."""
    key = func.coalesce(Topic.parent_id, Topic.id).label("topic_key")
    query = (
        select(key, func.count())
        .select_from(Case)
        .join(Topic, Case.topic_id == Topic.id)
        .where(_in_subtree(members(user, node)), _received_in(period))
        .group_by(key)
    )
    rows = db.session.execute(query).all()
    labels = dict(
        db.session.execute(
            select(Topic.id, Topic.label).where(Topic.id.in_([r[0] for r in rows]))
        ).all()
    )
    return sorted(
        (Share(labels.get(k, _("Non précisé")), n) for k, n in rows),
        key=lambda s: (-s.count, s.label),
    )


def by_tax_matter(user: Any, node: Node, period: Period) -> list[Share]:
    query = (
        select(Case.tax_matter_id, func.count())
        .where(_in_subtree(members(user, node)), _received_in(period))
        .group_by(Case.tax_matter_id)
    )
    rows = db.session.execute(query).all()
    ids = [r[0] for r in rows if r[0] is not None]
    labels = dict(
        db.session.execute(select(TaxMatter.id, TaxMatter.label).where(TaxMatter.id.in_(ids))).all()
    )
    return sorted(
        (Share(labels[k] if k is not None else _("Non précisé"), n) for k, n in rows),
        key=lambda s: (-s.count, s.label),
    )


# --- transfers --------------------------------------------------------------------------------


@dataclass
class TransferPair:
    from_office: str
    to_office: str
    count: int


def _transfers_touching(user: Any, node: Node, period: Period) -> ColumnElement[bool]:
    subtree = select(members(user, node).c.office_id)
    return and_(
        Transfer.created_at >= period.start,
        Transfer.created_at < period.end,
        or_(Transfer.from_office_id.in_(subtree), Transfer.to_office_id.in_(subtree)),
    )


def transfers(
    user: Any, node: Node, period: Period
) -> tuple[list[TransferPair], dict[int, tuple[int, int]]]:
    """Transfers of the period that leave or enter the subtree: per office pair, and per group
    (sent, received). A transfer between two offices of one group counts both ways for it."""
    query = (
        select(Transfer.from_office_id, Transfer.to_office_id, func.count())
        .where(_transfers_touching(user, node, period))
        .group_by(Transfer.from_office_id, Transfer.to_office_id)
    )
    pairs = db.session.execute(query).all()
    office_ids = {r[0] for r in pairs} | {r[1] for r in pairs}
    names = dict(
        db.session.execute(select(Office.id, Office.name).where(Office.id.in_(office_ids))).all()
    )
    rows = members(user, node)
    group_of = dict(
        db.session.execute(
            select(rows.c.office_id, rows.c.group_id).where(rows.c.office_id.in_(office_ids))
        ).all()
    )
    per_group: dict[int, tuple[int, int]] = {}
    for source, target, count in pairs:
        if source in group_of:
            sent, received = per_group.get(group_of[source], (0, 0))
            per_group[group_of[source]] = (sent + count, received)
        if target in group_of:
            sent, received = per_group.get(group_of[target], (0, 0))
            per_group[group_of[target]] = (sent, received + count)
    listed = [TransferPair(names[s], names[t], n) for s, t, n in pairs]
    listed.sort(key=lambda p: (-p.count, p.from_office, p.to_office))
    return listed, per_group


def may_read_transfer_reasons(user: Any, node: Node) -> bool:
    """Reasons may name the taxpayer: only the manager of the office, who reads its requests."""
    return node.leaf and is_office_manager(user) and node.id == user.office_id


def transfer_reasons(user: Any, node: Node, period: Period) -> Any:
    """The transfers in and out of one office in the period, newest first, with their reason."""
    source = aliased(Office)
    target = aliased(Office)
    office_id = node.id if may_read_transfer_reasons(user, node) else None
    return (
        select(Transfer.created_at, source.name, target.name, Transfer.reason)
        .join(source, Transfer.from_office_id == source.id)
        .join(target, Transfer.to_office_id == target.id)
        .where(
            Transfer.created_at >= period.start,
            Transfer.created_at < period.end,
            or_(Transfer.from_office_id == office_id, Transfer.to_office_id == office_id),
        )
        .order_by(Transfer.created_at.desc(), Transfer.id.desc())
    )


# --- the office's agents (office managers) ----------------------------------------------------


@dataclass
class Workload:
    name: str
    open_assigned: int
    answered: int
    closed: int


def may_see_workload(user: Any, node: Node) -> bool:
    return node.leaf and is_office_manager(user) and node.id == user.office_id


def workload(user: Any, node: Node, period: Period) -> list[Workload]:
    """Per agent of the office: open requests assigned now, answers sent and requests closed in
    the period (from the event log); a last row for the open requests assigned to no one."""
    if not may_see_workload(user, node):
        return []
    office_id = node.id
    open_counts = dict(
        db.session.execute(
            select(Case.assignee_id, func.count())
            .where(Case.office_id == office_id, Case.status != CaseStatus.CLOSED)
            .group_by(Case.assignee_id)
        ).all()
    )

    def events(kind: EventKind) -> dict[int | None, int]:
        return dict(
            db.session.execute(
                select(Event.actor_agent_id, func.count())
                .where(
                    Event.office_id == office_id,
                    Event.kind == kind,
                    Event.created_at >= period.start,
                    Event.created_at < period.end,
                )
                .group_by(Event.actor_agent_id)
            ).all()
        )

    answered = events(EventKind.ANSWERED)
    closed = events(EventKind.CLOSED)
    agents = db.session.execute(
        select(Agent.id, Agent.first_name, Agent.last_name)
        .where(Agent.office_id == office_id, Agent.active.is_(True))
        .order_by(Agent.last_name, Agent.first_name)
    ).all()
    rows = [
        Workload(
            f"{first} {last}",
            open_counts.get(agent_id, 0),
            answered.get(agent_id, 0),
            closed.get(agent_id, 0),
        )
        for agent_id, first, last in agents
    ]
    rows.append(Workload(_("Non attribuées"), open_counts.get(None, 0), 0, 0))
    return rows


# --- the detailed export ---------------------------------------------------------------------


def on_time_label(answered_at: datetime | None, due_at: datetime | None, now: datetime) -> str:
    """The row-level twin of ``on_time_conditions``."""
    if due_at is None:
        return ""
    if answered_at is not None:
        return _("oui") if answered_at <= due_at else _("non")
    return _("non") if due_at < now else _("en attente")


def detailed_cases(user: Any, node: Node, period: Period) -> Select[Any]:
    """One row per request of the subtree received in the period: no taxpayer, no content."""
    parent = aliased(Topic)
    return (
        select(
            Case.reference,
            Office.code,
            Office.name,
            Case.channel,
            func.coalesce(parent.label, Topic.label).label("topic"),
            case((parent.id.is_not(None), Topic.label), else_=literal("")).label("subtopic"),
            TaxMatter.label,
            Case.status,
            Case.received_at,
            Case.first_answer_at,
            Case.closed_at,
            Case.due_at,
        )
        .select_from(Case)
        .join(Office, Case.office_id == Office.id)
        .join(Topic, Case.topic_id == Topic.id)
        .outerjoin(parent, Topic.parent_id == parent.id)
        .outerjoin(TaxMatter, Case.tax_matter_id == TaxMatter.id)
        .where(_in_subtree(members(user, node)), _received_in(period))
        .order_by(Case.received_at, Case.id)
    )


def stream(query: Select[Any], batch: int = 2000) -> Iterator[Any]:
    """Rows of a query fetched in batches (a server-side cursor on PostgreSQL)."""
    result = db.session.execute(query.execution_options(yield_per=batch, stream_results=True))
    try:
        yield from result
    finally:
        result.close()


# --- formatting shared by the pages and the CSV -----------------------------------------------


def format_number(value: float | int | None, decimals: int = 1) -> str:
    """French decimal comma; an empty string for no value."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.{decimals}f}".replace(".", ",")


def format_local(moment: datetime | None) -> str:
    shown = local(moment)
    return shown.strftime("%d/%m/%Y %H:%M") if shown else ""


def age_in_days(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else int((now - moment).total_seconds() // 86400)
