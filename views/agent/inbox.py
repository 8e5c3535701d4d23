"""The office inbox's queries: tabs, filters, keyset pagination and capped counts.

Everything is filtered in the database through ``app.cases.access.cases_visible_to``. A page is one
query that walks an index in order (keyset pagination on ``(received_at, id)`` or
``(due_at, id)``, never OFFSET); the counts of the tabs are capped (``COUNT_CAP``) and come in
one query; taxpayer, topic and assignee of the rows are loaded in one query each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import url_for
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.orm import selectinload

from app.cases import access, organise
from app.directory import access as directory_access
from app.platform.cache import Choice, references
from app.platform.params import int_or_none
from app.platform.templating import PARIS
from models import Agent, Case, CaseStatus, CaseTag, Channel, Tag, db, utcnow

PAGE_SIZE = 50
COUNT_CAP = 1000

# Written as literals so that the partial indexes of the migration match (see app.cases.search).
OPEN = Case.status != literal_column("'closed'")


@dataclass(frozen=True)
class Tab:
    key: str
    label: Any
    clause: Callable[[Any], ColumnElement[bool]]
    default_sort: str = "anciennete"


TABS: tuple[Tab, ...] = (
    Tab(
        "nouvelles",
        _l("Nouvelles et non attribuées"),
        lambda agent: and_(OPEN, Case.assignee_id.is_(None)),
    ),
    Tab("miennes", _l("Mes demandes"), lambda agent: and_(OPEN, Case.assignee_id == agent.id)),
    Tab(
        "attente",
        _l("En attente de l'usager"),
        lambda agent: Case.status == CaseStatus.AWAITING_TAXPAYER,
    ),
    Tab("ouvertes", _l("Toutes les ouvertes"), lambda agent: OPEN),
    Tab(
        "transmises",
        _l("Transmises à prendre en compte"),
        lambda agent: Case.awaiting_acknowledgement == true(),
    ),
    Tab(
        "cloturees",
        _l("Clôturées"),
        lambda agent: Case.status == CaseStatus.CLOSED,
        default_sort="recentes",
    ),
)
TABS_BY_KEY = {tab.key: tab for tab in TABS}
DEFAULT_TAB = "nouvelles"

SORTS = {
    "anciennete": _l("Les plus anciennes d'abord"),
    "recentes": _l("Les plus récentes d'abord"),
    "echeance": _l("Échéance la plus proche d'abord"),
}

# Age buckets in days since receipt: (label, youngest, oldest or None).
AGES: dict[str, tuple[Any, int, int | None]] = {
    "0-7": (_l("7 jours ou moins"), 0, 7),
    "8-15": (_l("8 à 15 jours"), 8, 15),
    "16-30": (_l("16 à 30 jours"), 16, 30),
    "31+": (_l("Plus de 30 jours"), 31, None),
}
UNASSIGNED = "aucun"


# Due within so many days (Paris days, today included) or overdue: "Ma journée" links here.
DUE_WITHIN = {"3": 3}


@dataclass
class InboxFilters:
    topic_id: int | None = None
    tax_matter_id: int | None = None
    channel: Channel | None = None
    age: str | None = None
    assignee: str | None = None  # an agent id, or UNASSIGNED
    unread: bool = False  # a taxpayer's message not yet read by the office
    due_within: str | None = None  # a key of DUE_WITHIN
    tag_id: int | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> InboxFilters:
        channel = args.get("canal") or None
        age = args.get("age") or None
        assignee = args.get("agent") or None
        if assignee is not None and assignee != UNASSIGNED and int_or_none(assignee) is None:
            assignee = None
        due = args.get("echeance") or None
        return cls(
            topic_id=int_or_none(args.get("motif")),
            tax_matter_id=int_or_none(args.get("impot")),
            channel={c.value: c for c in Channel}.get(channel or ""),
            age=age if age in AGES else None,
            assignee=assignee,
            unread=args.get("non_lue") == "1",
            due_within=due if due in DUE_WITHIN else None,
            tag_id=int_or_none(args.get("etiquette")),
        )

    def clauses(self, now: datetime) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.topic_id is not None:
            clauses.append(Case.topic_id == self.topic_id)
        if self.tax_matter_id is not None:
            clauses.append(Case.tax_matter_id == self.tax_matter_id)
        if self.channel is not None:
            clauses.append(Case.channel == self.channel)
        if self.age is not None:
            _, youngest, oldest = AGES[self.age]
            start_of_today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            # Received on or before the day ``youngest`` days ago...
            clauses.append(Case.received_at < start_of_today - timedelta(days=youngest - 1))
            if oldest is not None:
                # ...and not before the day ``oldest`` days ago.
                clauses.append(Case.received_at >= start_of_today - timedelta(days=oldest))
        if self.assignee == UNASSIGNED:
            clauses.append(Case.assignee_id.is_(None))
        elif self.assignee is not None:
            clauses.append(Case.assignee_id == int(self.assignee))
        if self.unread:
            clauses.append(Case.unread_by_office.is_(True))
        if self.due_within is not None:
            clauses.append(and_(OPEN, Case.due_at < due_limit(now, DUE_WITHIN[self.due_within])))
        if self.tag_id is not None:
            clauses.append(
                exists(
                    select(literal(1)).where(
                        CaseTag.case_id == Case.id, CaseTag.tag_id == self.tag_id
                    )
                )
            )
        return clauses

    def as_args(self) -> dict[str, str]:
        args = {
            "motif": str(self.topic_id) if self.topic_id is not None else "",
            "impot": str(self.tax_matter_id) if self.tax_matter_id is not None else "",
            "canal": self.channel.value if self.channel else "",
            "age": self.age or "",
            "agent": self.assignee or "",
            "non_lue": "1" if self.unread else "",
            "echeance": self.due_within or "",
            "etiquette": str(self.tag_id) if self.tag_id is not None else "",
        }
        return {key: value for key, value in args.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.as_args())


def due_limit(now: datetime, days: int) -> datetime:
    """The start of the Paris day after the ``days``-th (today is the first)."""
    today = now.astimezone(PARIS).date()
    return datetime.combine(today + timedelta(days=days), time.min, tzinfo=PARIS)


# --- keyset cursors -----------------------------------------------------------------------------


def encode_cursor(sort: str, case: Case) -> str:
    moment = case.due_at if sort == "echeance" else case.received_at
    stamp = moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f") if moment else "-"
    return f"{stamp}~{case.id}"


def decode_cursor(raw: str | None) -> tuple[datetime | None, int] | None:
    if not raw or "~" not in raw:
        return None
    stamp, _, raw_id = raw.partition("~")
    case_id = int_or_none(raw_id)
    if case_id is None:
        return None
    if stamp == "-":
        return None, case_id
    try:
        moment = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment, case_id


def _order_and_after(
    sort: str, cursor: tuple[datetime | None, int] | None
) -> tuple[list[Any], list[ColumnElement[bool]]]:
    after: list[ColumnElement[bool]] = []
    if sort == "echeance":
        order = [Case.due_at.asc().nulls_last(), Case.id.asc()]
        if cursor is not None:
            moment, case_id = cursor
            if moment is None:
                after.append(and_(Case.due_at.is_(None), Case.id > case_id))
            else:
                after.append(
                    or_(
                        Case.due_at > moment,
                        and_(Case.due_at == moment, Case.id > case_id),
                        Case.due_at.is_(None),
                    )
                )
        return order, after
    if sort == "recentes":
        order = [Case.received_at.desc(), Case.id.desc()]
        if cursor is not None and cursor[0] is not None:
            moment, case_id = cursor
            after.append(
                or_(Case.received_at < moment, and_(Case.received_at == moment, Case.id < case_id))
            )
        return order, after
    order = [Case.received_at.asc(), Case.id.asc()]
    if cursor is not None and cursor[0] is not None:
        moment, case_id = cursor
        after.append(
            or_(Case.received_at > moment, and_(Case.received_at == moment, Case.id > case_id))
        )
    return order, after


# --- the page -------------------------------------------------------------------------------


@dataclass
class InboxPage:
    tab: Tab
    sort: str
    filters: InboxFilters
    cases: list[Case]
    counts: dict[str, int]
    next_cursor: str | None
    first_page: bool
    topics: tuple[Choice, ...] = ()
    tax_matters: tuple[Choice, ...] = ()
    topic_labels: dict[int, str] = field(default_factory=dict)
    agents: list[Agent] = field(default_factory=list)
    tags: list[organise.TagChoice] = field(default_factory=list)
    row_tags: dict[int, list[Tag]] = field(default_factory=dict)


def count_label(count: int) -> str:
    """French digit grouping; a capped count shows as "1 000+"."""
    shown = f"{min(count, COUNT_CAP):,}".replace(",", "\u202f")
    return shown + "+" if count > COUNT_CAP else shown


def capped_counts(agent: Any, clauses: Mapping[str, ColumnElement[bool]]) -> dict[str, int]:
    """How many of the agent's cases match each clause, capped at COUNT_CAP + 1 rows each,
    in one query."""
    columns = []
    for key, clause in clauses.items():
        capped = (
            select(literal(1))
            .select_from(Case)
            .where(access.cases_visible_to(agent), clause)
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        columns.append(select(func.count()).select_from(capped).scalar_subquery().label(key))
    row = db.session.execute(select(*columns)).one()
    return {key: int(row[i]) for i, key in enumerate(clauses)}


def tab_counts(agent: Any, filters: list[ColumnElement[bool]]) -> dict[str, int]:
    """Every tab's count, capped at COUNT_CAP + 1 rows each, in one query."""
    return capped_counts(agent, {tab.key: and_(tab.clause(agent), *filters) for tab in TABS})


def load_page(agent: Any, args: Mapping[str, str]) -> InboxPage:
    tab = TABS_BY_KEY.get(args.get("onglet", ""), TABS_BY_KEY[DEFAULT_TAB])
    sort = args.get("tri", "")
    if sort not in SORTS:
        sort = tab.default_sort
    filters = InboxFilters.parse(args)
    now = utcnow()
    filter_clauses = filters.clauses(now)
    cursor = decode_cursor(args.get("apres"))
    order, after = _order_and_after(sort, cursor)
    rows = db.session.scalars(
        select(Case)
        .where(access.cases_visible_to(agent), tab.clause(agent), *filter_clauses, *after)
        # Not joined: the planner's estimate of an office's unassigned open cases (a partial
        # index) is far too low, and with the joins it sorted all 2,988 of SIP-75-1 (64 ms)
        # instead of reading the index's first 51 (0.1 ms); two small IN queries instead.
        .options(selectinload(Case.taxpayer), selectinload(Case.assignee))
        .order_by(*order)
        .limit(PAGE_SIZE + 1)
    ).all()
    cases = list(rows[:PAGE_SIZE])
    next_cursor = encode_cursor(sort, cases[-1]) if len(rows) > PAGE_SIZE else None
    lists = references()
    return InboxPage(
        tab=tab,
        sort=sort,
        filters=filters,
        cases=cases,
        counts=tab_counts(agent, filter_clauses),
        next_cursor=next_cursor,
        first_page=cursor is None,
        topics=lists.topics,
        tax_matters=lists.tax_matters,
        topic_labels=lists.topic_labels,
        agents=list(
            db.session.scalars(
                select(Agent)
                .where(directory_access.colleagues_of(agent))
                .order_by(Agent.last_name, Agent.first_name)
            )
        ),
        tags=list(organise.usable_tags(agent)),
        row_tags=organise.tags_of([case.id for case in cases]),
    )


class RowText:
    """What every row of a list of cases repeats, translated and built once per page:
    gettext and ``url_for`` cost tens of microseconds a call, fifty rows several calls each."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.channels = {channel: str(channel.label) for channel in Channel}
        self.statuses = {status: str(status.label) for status in CaseStatus}
        self.unread = gettext("Non lue")
        self.forwarded = gettext("Transmise")
        self.held = gettext("Gel juridique")
        self.overdue = gettext("En retard")
        self.unidentified = gettext("Usager non identifié")
        self._days: dict[int, str] = {}
        marker = 2_147_483_647
        self._prefix, _, self._suffix = url_for("CasesView.show", case_id=marker).rpartition(
            str(marker)
        )

    def case_url(self, case: Case) -> str:
        return f"{self._prefix}{case.id}{self._suffix}"

    def age(self, case: Case) -> str:
        days = age_in_days(case, self.now)
        if days not in self._days:
            self._days[days] = ngettext("%(num)s jour", "%(num)s jours", days)
        return self._days[days]

    def is_overdue(self, case: Case) -> bool:
        return is_overdue(case, self.now)


def age_in_days(case: Case, now: datetime) -> int:
    return max(0, (now.date() - case.received_at.astimezone(UTC).date()).days)


def is_overdue(case: Case, now: datetime) -> bool:
    return case.is_open and case.due_at is not None and case.due_at < now
