"""Steering figures (pilotage): aggregates over the cases of a subtree of the office tree.

The figures of cases received in a period (volumes, by channel, topic and tax matter, answered,
closed, on time, the percentiles of the handling times) come from the rollups of
``app.steering.rollups`` (per office of the tree, per year, month and day, kept exact by a
journal); the open backlog, the transfers, the workload and the detailed export are SQL
aggregates over the live tables. Python only folds a handful of aggregated rows. The scope of
every query is ``app.steering.access.offices_steered_by(user)``; a node (the office whose page is
shown) out of scope is ``None`` here and a 404 in the view. See docs/steering.md for the precise
definitions.

Vocabulary:

- the *node* is the office whose page is shown (``None``: the whole tree, administrators only);
- its *groups* are the rows of its tables: its children in the tree (a delegation's
  directorates, a directorate's offices), plus the node itself when cases sit directly in it;
  a leaf office is its own single group;
- the *members* subquery maps every office of the node's subtree (in scope) to its group, through
  the materialised path (``office.path LIKE child.path || '%'``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from app.directory.access import is_admin, is_office_manager, is_steering
from app.platform.cache import references
from app.platform.templating import local
from app.steering import rollups
from app.steering.access import may_read_transfer_reasons, may_see_workload, offices_steered_by
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


@dataclass(frozen=True)
class Place:
    """An office as the steering pages name it (plain data, not the ORM row)."""

    id: int
    code: str
    name: str


@dataclass
class Group:
    id: int
    name: str
    drillable: bool


@dataclass
class Node:
    """The page's office (``office`` None: every root the user sees) and its groups."""

    office: Place | None
    groups: list[Group]
    breadcrumbs: list[Place]
    leaf: bool
    # Every child office of the node, in the user's scope or not (the node's own cases are
    # the node's rollups less its children's).
    children: list[int] = field(default_factory=list)
    # The ``members`` subquery, built once for the page's several queries.
    member_rows: Subquery | None = field(default=None, repr=False, compare=False)

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
    """The node of a steering page, or None when the user may not see it (the view: 404).

    One statement reads the node, its ancestors (the breadcrumbs) and its children, each
    with whether the user's scope holds it."""
    if office_id is None:
        root = steering_root(user)
        if root is None and not is_admin(user):
            return None
        office_id = root.id if root is not None else None
    if office_id is None:
        wanted: ColumnElement[bool] = Office.parent_id.is_(None)
    else:
        node = aliased(Office)
        path = select(node.path).where(node.id == office_id).scalar_subquery()
        wanted = or_(Office.parent_id == office_id, path.startswith(Office.path))
    rows = db.session.execute(
        select(
            Office.id,
            Office.code,
            Office.name,
            Office.parent_id,
            Office.path,
            offices_steered_by(user).label("visible"),
        )
        .where(wanted)
        .order_by(Office.name)
    ).all()
    by_id = {row.id: row for row in rows}
    if office_id is not None and not (office_id in by_id and by_id[office_id].visible):
        return None
    children = [row for row in rows if row.parent_id == office_id]
    groups = [Group(row.id, row.name, True) for row in children if row.visible]
    if office_id is None:
        return Node(None, groups, [], False)
    me = by_id[office_id]
    office = Place(me.id, me.code, me.name)
    leaf = not groups
    # The node's own cases (a leaf office; rarely, a directorate) form a group of its own.
    groups.insert(0, Group(office.id, office.name, False))
    ancestry = [int(part) for part in me.path.strip("/").split("/") if part]
    breadcrumbs = [
        Place(by_id[i].id, by_id[i].code, by_id[i].name)
        for i in ancestry
        if i in by_id and by_id[i].visible
    ]
    return Node(office, groups, breadcrumbs, leaf, [row.id for row in children])


def members(user: Any, node: Node) -> Subquery:
    """(office_id, group_id) for every office in scope under the node (the node is the user's:
    built once per node)."""
    if node.member_rows is None:
        node.member_rows = _members(user, node)
    return node.member_rows


def _members(user: Any, node: Node) -> Subquery:
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


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# --- indicators per group --------------------------------------------------------------------


@dataclass
class Handling:
    """Cases received in the period: how fast and how often on time they were answered."""

    received: int = 0
    answered: int = 0
    closed: int = 0
    on_time: int = 0
    late: int = 0
    # Received in the period and withdrawn by the taxpayer before any answer.
    withdrawn: int = 0
    first_answer_median: float | None = None
    first_answer_p90: float | None = None
    closing_median: float | None = None
    closing_p90: float | None = None

    @property
    def settled(self) -> int:
        """Cases whose on-time outcome is known (the denominator of the share)."""
        return self.on_time + self.late

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.settled * 100 if self.settled else None


@dataclass
class Backlog:
    """Cases open now."""

    open: int = 0
    awaiting_taxpayer: int = 0
    buckets: dict[str, int] = field(default_factory=lambda: {b[0]: 0 for b in AGE_BUCKETS})
    oldest: datetime | None = None
    # Of them: received in the period, still unanswered and past their due date (late).
    overdue_in_period: int = 0


def _window(period: Period) -> rollups.Window:
    return rollups.Window(period.first_day, period.last_day + timedelta(days=1))


def _is_own(node: Node, group_id: int) -> bool:
    return node.office is not None and group_id == node.office.id


def _total_terms(node: Node) -> list[tuple[int, int]]:
    """(sign, rollup node) whose sum is the user's part of the node: the node less its children
    out of the user's scope (an office manager's own office); all the roots for the whole tree."""
    if node.office is None:
        return [(1, group.id) for group in node.groups]
    in_groups = {group.id for group in node.groups}
    outside = [(-1, child) for child in node.children if child not in in_groups]
    return [(1, node.office.id), *outside]


def _rollup_nodes(node: Node) -> list[int]:
    """The rollup nodes a page reads: its groups, and every child of the node."""
    return sorted({g.id for g in node.groups} | set(node.children))


def _fold_groups(
    node: Node, value: Callable[[int], Any], minus: Callable[[Any, Any], Any]
) -> dict[int, Any]:
    """Per group, from per-node values: a child group is its node; the node's own group is the
    node less all its children (the total is then the sum of the groups)."""
    per_group: dict[int, Any] = {}
    for group in node.groups:
        if _is_own(node, group.id):
            own = value(group.id)
            for child in node.children:
                own = minus(own, value(child))
            per_group[group.id] = own
        else:
            per_group[group.id] = value(group.id)
    return per_group


def handling(
    user: Any,
    node: Node,
    period: Period,
    now: datetime,
    overdue: dict[int, int],
) -> tuple[dict[int, Handling], Handling]:
    """Per group and in total: received, answered, closed, percentiles, on time.

    Read from the rollups (app/steering/rollups.py); the cases still unanswered past their
    due date are counted live among the open ones (the only figure that moves with the clock):
    they come per group in ``overdue``, from ``backlog`` with the same period."""
    window = _window(period)
    nodes = _rollup_nodes(node)
    counts = rollups.counts(nodes, window)
    hists = rollups.histograms(nodes, window)
    empty = dict.fromkeys(rollups.COUNT_MEASURES, 0)

    def count_of(node_id: int) -> dict[str, int]:
        return counts.get((node_id, rollups.ALL, ""), empty)

    def hist_of(node_id: int) -> dict[str, list[tuple[int, int, float]]]:
        return {m: hists.get((node_id, m), []) for m in (rollups.FIRST_ANSWER, rollups.CLOSING)}

    def minus_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        return {m: a[m] - b[m] for m in rollups.COUNT_MEASURES}

    def minus_hists(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return {m: rollups.subtract(a[m], [b[m]]) for m in a}

    per_counts = _fold_groups(node, count_of, minus_counts)
    per_hists = _fold_groups(node, hist_of, minus_hists)

    def figures(count: dict[str, int], hist: dict[str, list[Any]], late_open: int) -> Handling:
        result = Handling(
            count["received"],
            count["answered"],
            count["closed"],
            count["on_time"],
            count["late_answered"] + late_open,
            count["withdrawn"],
        )
        for prefix, measure in (
            ("first_answer", rollups.FIRST_ANSWER),
            ("closing", rollups.CLOSING),
        ):
            setattr(result, f"{prefix}_median", rollups.percentile(hist[measure], 0.5))
            setattr(result, f"{prefix}_p90", rollups.percentile(hist[measure], 0.9))
        return result

    result = {
        group_id: figures(per_counts[group_id], per_hists[group_id], overdue.get(group_id, 0))
        for group_id in per_counts
        # A group may hold cases it did not receive (contacts recorded elsewhere, forwarded)
        if any(per_counts[group_id].values())
    }
    total_count = {m: sum(c[m] for c in per_counts.values()) for m in rollups.COUNT_MEASURES}
    total_hist = {
        m: rollups.merge(h[m] for h in per_hists.values())
        for m in (rollups.FIRST_ANSWER, rollups.CLOSING)
    }
    total = figures(total_count, total_hist, sum(overdue.values()))
    return result, total


def backlog(
    user: Any, node: Node, now: datetime, period: Period | None = None
) -> tuple[dict[int, Backlog], Backlog]:
    """Open cases per group: by age bucket, awaiting the taxpayer, the oldest; and, with a
    period, those of them received in it, unanswered and past due (late, for ``handling``)."""
    rows = members(user, node)
    overdue = and_(
        _received_in(period) if period is not None else false(),
        Case.first_answer_at.is_(None),
        Case.closed_at.is_(None),
        Case.due_at < now,
    )
    columns = [
        func.count().label("open"),
        _count(Case.status == CaseStatus.AWAITING_TAXPAYER).label("awaiting"),
        func.min(Case.received_at).label("oldest"),
        _count(overdue).label("overdue"),
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
            row.overdue,
        )
        result[row.group_id] = figures
        total.open += figures.open
        total.overdue_in_period += figures.overdue_in_period
        total.awaiting_taxpayer += figures.awaiting_taxpayer
        for key in total.buckets:
            total.buckets[key] += figures.buckets[key]
        if figures.oldest is not None and (total.oldest is None or figures.oldest < total.oldest):
            total.oldest = figures.oldest
    return result, total


def received_series(user: Any, node: Node, period: Period) -> list[tuple[date, int]]:
    """Cases received per day (or per week, Monday first), with the empty days."""
    counts = rollups.received_series(
        _total_terms(node), _window(period), weekly=period.granularity == "week"
    )
    return [(day, counts.get(day, 0)) for day in period.buckets()]


@dataclass
class Share:
    label: str
    count: int


def _received_by(user: Any, node: Node, period: Period, dimension: str) -> dict[str, int]:
    """Cases received in the period by key of one dimension, over the user's part of the
    node (the node less its children out of scope)."""
    counts = rollups.counts(_rollup_nodes(node), _window(period))
    sign_of = {node_id: sign for sign, node_id in _total_terms(node)}
    result: dict[str, int] = {}
    for (node_id, of, key), figures in counts.items():
        if of == dimension and node_id in sign_of:
            result[key] = result.get(key, 0) + sign_of[node_id] * figures["received"]
    return {key: count for key, count in result.items() if count}


def _sorted_shares(pairs: Iterable[tuple[str, int]]) -> list[Share]:
    return sorted(
        (Share(label, count) for label, count in pairs), key=lambda s: (-s.count, s.label)
    )


def by_channel(user: Any, node: Node, period: Period) -> list[Share]:
    labels = {c.value: str(c.label) for c in Channel}
    received = _received_by(user, node, period, rollups.CHANNEL)
    return _sorted_shares((labels.get(k, _("Non précisé")), n) for k, n in received.items())


def by_topic(user: Any, node: Node, period: Period) -> list[Share]:
    """By topic, sub-topics counted under their parent topic."""
    received = _received_by(user, node, period, rollups.TOPIC)
    directory = references()
    per_parent: dict[int, int] = {}
    for key, count in received.items():
        parent = directory.topic_parents.get(int(key), int(key))
        per_parent[parent] = per_parent.get(parent, 0) + count
    labels = directory.topic_names
    return _sorted_shares((labels.get(k, _("Non précisé")), n) for k, n in per_parent.items())


def by_tax_matter(user: Any, node: Node, period: Period) -> list[Share]:
    received = _received_by(user, node, period, rollups.TAX_MATTER)
    labels = references().tax_matter_labels
    return _sorted_shares(
        (labels.get(int(k), _("Non précisé")) if k else _("Non précisé"), n)
        for k, n in received.items()
    )


# --- transfers --------------------------------------------------------------------------------


@dataclass
class TransferPair:
    from_office: str
    to_office: str
    count: int


def transfers(
    user: Any, node: Node, period: Period
) -> tuple[list[TransferPair], dict[int, tuple[int, int]]]:
    """Transfers of the period that leave or enter the subtree: per office pair, and per group
    (sent, received). A transfer between two offices of one group counts both ways for it."""
    member_rows = members(user, node)
    group_of = select(member_rows.c.office_id, member_rows.c.group_id).cte("group_of")
    source, target = group_of.alias("source_group"), group_of.alias("target_group")
    window = _window(period)
    stored = rollups.transfer_rows(window)
    total = func.sum(stored.c.count)
    query = (
        select(
            stored.c.from_office_id,
            stored.c.to_office_id,
            source.c.group_id,
            target.c.group_id,
            total,
        )
        .select_from(
            stored.outerjoin(source, source.c.office_id == stored.c.from_office_id).outerjoin(
                target, target.c.office_id == stored.c.to_office_id
            )
        )
        .where(or_(source.c.office_id.is_not(None), target.c.office_id.is_not(None)))
        .group_by(
            stored.c.from_office_id, stored.c.to_office_id, source.c.group_id, target.c.group_id
        )
        .having(total > 0)
    )
    names = references().office_names
    per_group: dict[int, tuple[int, int]] = {}
    listed = []
    rows = db.session.execute(query, rollups.window_params(window))
    for from_office, to_office, from_group, to_group, count in rows:
        count = int(count)
        if from_group is not None:
            sent, received = per_group.get(from_group, (0, 0))
            per_group[from_group] = (sent + count, received)
        if to_group is not None:
            sent, received = per_group.get(to_group, (0, 0))
            per_group[to_group] = (sent, received + count)
        listed.append(TransferPair(names[from_office], names[to_office], count))
    listed.sort(key=lambda p: (-p.count, p.from_office, p.to_office))
    return listed, per_group


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


def workload(user: Any, node: Node, period: Period) -> list[Workload]:
    """Per agent of the office: open cases assigned now, answers sent and cases closed in
    the period (from the event log); a last row for the open cases assigned to no one."""
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


def on_time_label(
    answered_at: datetime | None,
    due_at: datetime | None,
    now: datetime,
    words: dict[str, str] | None = None,
) -> str:
    """Answered on time (yes / no / pending): the row-level twin of the rollups' on-time and
    late counts (``app.steering.rollups._on_time_parts``) and of the backlog's overdue count.
    ``words`` (``on_time_words()``) spares a translation per row in the million-row export."""
    words = words or on_time_words()
    if due_at is None:
        return ""
    if answered_at is not None:
        return words["yes"] if answered_at <= due_at else words["no"]
    return words["no"] if due_at < now else words["pending"]


def on_time_words() -> dict[str, str]:
    return {"yes": _("oui"), "no": _("non"), "pending": _("en attente")}


def detailed_cases(user: Any, node: Node, period: Period) -> Select[Any]:
    """One row per case of the subtree received in the period: no taxpayer, no content."""
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
            Case.withdrawn_at,
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


class LocalFormat:
    """``format_local`` for a million moments (the detailed export): Paris's offset from UTC,
    which changes only on a whole UTC hour, is looked up once per hour, and the text is written
    without ``strftime``."""

    def __init__(self) -> None:
        self._offsets: dict[int, timedelta] = {}

    def __call__(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        hour = int(moment.timestamp()) // 3600
        offset = self._offsets.get(hour)
        if offset is None:
            offset = self._offsets[hour] = local(moment).utcoffset() or timedelta(0)  # type: ignore[union-attr]
        shown = moment + offset
        return f"{shown.day:02d}/{shown.month:02d}/{shown.year} {shown.hour:02d}:{shown.minute:02d}"


def age_in_days(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else int((now - moment).total_seconds() // 86400)
