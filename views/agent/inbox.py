"""The office inbox's queries: tabs, filters, keyset pagination and capped counts.

Everything is filtered in the database through ``app.cases.access.cases_visible_to``. A page is one
query that walks an index in order (keyset pagination on ``(received_at, id)`` or
``(due_at, id)``, never OFFSET), with the rows' taxpayers and assignees joined to the page's
rows; the counts of the tabs are capped (``COUNT_CAP``) and come in one query; the rows' tags in
one more. Rows are columns, never ORM objects, and each row's cells are prepared once in Python
(``RowBuilder``): the template prints them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import current_app, request, url_for
from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)

from app.cases import access, organise
from app.directory import access as directory_access
from app.platform.cache import Choice, references
from app.platform.params import int_or_none
from app.platform.templating import PARIS, format_date
from models import Agent, Case, CaseStatus, CaseTag, Channel, Tag, Taxpayer, db, utcnow
from models.agent import full_name_of
from models.taxpayer import display_name_of, identifier_of
from views.agent import reading

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

    def key(self, now: datetime) -> tuple[Any, ...]:
        """What decides ``clauses(now)``: the filters, and the day for those counted in days."""
        day = (now.date(), now.astimezone(PARIS).date()) if self.age or self.due_within else None
        return (*sorted(self.as_args().items()), day)


def due_limit(now: datetime, days: int) -> datetime:
    """The start of the Paris day after the ``days``-th (today is the first)."""
    today = now.astimezone(PARIS).date()
    return datetime.combine(today + timedelta(days=days), time.min, tzinfo=PARIS)


# --- keyset cursors -----------------------------------------------------------------------------


def encode_cursor(sort: str, case: Any) -> str:
    """The cursor after ``case`` (a case or a row with its ``id``, ``received_at``, ``due_at``)."""
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
    sort: str, cursor: tuple[datetime | None, int] | None, columns: Any = None
) -> tuple[list[Any], list[ColumnElement[bool]]]:
    """The ORDER BY of a sort and the WHERE of the rows after the cursor, on ``Case`` or on
    the ``columns`` of a subquery of it."""
    c = Case if columns is None else columns
    after: list[ColumnElement[bool]] = []
    if sort == "echeance":
        order = [c.due_at.asc().nulls_last(), c.id.asc()]
        if cursor is not None:
            moment, case_id = cursor
            if moment is None:
                after.append(and_(c.due_at.is_(None), c.id > case_id))
            else:
                after.append(
                    or_(
                        c.due_at > moment,
                        and_(c.due_at == moment, c.id > case_id),
                        c.due_at.is_(None),
                    )
                )
        return order, after
    if sort == "recentes":
        order = [c.received_at.desc(), c.id.desc()]
        if cursor is not None and cursor[0] is not None:
            moment, case_id = cursor
            after.append(or_(c.received_at < moment, and_(c.received_at == moment, c.id < case_id)))
        return order, after
    order = [c.received_at.asc(), c.id.asc()]
    if cursor is not None and cursor[0] is not None:
        moment, case_id = cursor
        after.append(or_(c.received_at > moment, and_(c.received_at == moment, c.id > case_id)))
    return order, after


# --- the page -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Colleague:
    id: int
    full_name: str


@dataclass(slots=True)
class InboxRow:
    """One row of the inbox as the template prints it: every cell's text prepared once, here,
    so that the template is a plain loop (no macro, filter or translation per cell)."""

    id: int
    url: str
    reference: str
    pick_label: str  # the checkbox's accessible name
    css: str  # the row's classes: unread, overdue
    unread: bool
    forwarded: bool
    held: bool
    identified: bool  # a taxpayer's case (else a contact of someone not yet identified)
    taxpayer: str  # the taxpayer's name, or the declared identity of an unidentified person
    identifier: str  # the tax number or SIREN ("" for an unidentified person)
    subject: str
    tags: list[str]
    topic: str
    channel: str
    age: str
    due: str
    overdue: bool
    assignee: str
    # The keyset cursor's values (``encode_cursor``).
    received_at: datetime
    due_at: datetime | None


@dataclass
class InboxPage:
    tab: Tab
    sort: str
    filters: InboxFilters
    rows: list[InboxRow]
    text: RowText  # what the rows repeat (labels of badges and channels)
    counts: dict[str, int]
    next_cursor: str | None
    first_page: bool
    topics: tuple[Choice, ...] = ()
    tax_matters: tuple[Choice, ...] = ()
    agents: list[Colleague] = field(default_factory=list)
    tags: list[organise.TagChoice] = field(default_factory=list)


def count_label(count: int) -> str:
    """French digit grouping; a capped count shows as "1 000+"."""
    shown = f"{min(count, COUNT_CAP):,}".replace(",", "\u202f")
    return shown + "+" if count > COUNT_CAP else shown


def _counts_statement(
    visible: ColumnElement[bool], clauses: Mapping[str, ColumnElement[bool]]
) -> Select[Any]:
    """Of the ``visible`` cases, how many match each clause, capped at COUNT_CAP + 1 rows each:
    one SELECT of a scalar subquery per clause."""
    columns = []
    for key, clause in clauses.items():
        capped = (
            select(literal(1))
            .select_from(Case)
            .where(visible, clause)
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        columns.append(select(func.count()).select_from(capped).scalar_subquery().label(key))
    return select(*columns)


def capped_counts(agent: Any, clauses: Mapping[str, ColumnElement[bool]]) -> dict[str, int]:
    """How many of the agent's cases match each clause, capped at COUNT_CAP + 1 rows each,
    in one query."""
    row = db.session.execute(_counts_statement(access.cases_visible_to(agent), clauses)).one()
    return {key: int(row[i]) for i, key in enumerate(clauses)}


def tab_counts(agent: Any, filters: InboxFilters, now: datetime) -> dict[str, int]:
    """Every tab's count, capped at COUNT_CAP + 1 rows each, in one query (built once per agent
    and filters)."""
    statement = reading.BuiltStatements.get(
        ("counts", agent.id, filters.key(now)),
        access.cases_visible_to(agent),
        lambda visible: _counts_statement(
            visible, {tab.key: and_(tab.clause(agent), *filters.clauses(now)) for tab in TABS}
        ),
    )
    row = reading.read(statement).one()
    return {tab.key: int(row[i]) for i, tab in enumerate(TABS)}


def _page_statement(
    visible: ColumnElement[bool], where: list[ColumnElement[bool]], sort: str, cursor: Any
) -> Select[Any]:
    """The page's cases with their taxpayer, assignee and tags, in one statement: a row per
    case and tag (``RowBuilder`` folds them).

    The cases are a LIMITed subquery joined afterwards: joined in the same SELECT, PostgreSQL
    misjudged an office's unassigned open cases (a partial index's low estimate) and sorted all
    2,988 of SIP-75-1 (64 ms) instead of reading the index's first 51 rows (0.1 ms). The
    subquery is named like the table, so that the statement still reads ``SELECT "case".id ...
    FROM "case"`` (the bench finds the page's main query by it)."""
    order, after = _order_and_after(sort, cursor)
    page = (
        select(
            Case.id,
            Case.reference,
            Case.subject,
            Case.topic_id,
            Case.channel,
            Case.status,
            Case.received_at,
            Case.due_at,
            Case.unread_by_office,
            Case.awaiting_acknowledgement,
            Case.legal_hold,
            Case.declared_identity,
            Case.taxpayer_id,
            Case.assignee_id,
        )
        .where(visible, *where, *after)
        .order_by(*order)
        .limit(PAGE_SIZE + 1)
        .subquery("case")
    )
    outer_order, _ = _order_and_after(sort, None, columns=page.c)
    c = page.c
    return (
        select(
            c.id,
            c.reference,
            c.subject,
            c.topic_id,
            c.channel,
            c.status,
            c.received_at,
            c.due_at,
            c.unread_by_office,
            c.awaiting_acknowledgement,
            c.legal_hold,
            c.declared_identity,
            c.assignee_id,
            Taxpayer.kind,
            Taxpayer.first_name,
            Taxpayer.last_name,
            Taxpayer.company_name,
            Taxpayer.tax_number,
            Taxpayer.siren,
            Taxpayer.legal_hold,
            # The assignee's name by its primary key (an outer join hashed the whole agents
            # table, at every request).
            select(Agent.first_name).where(Agent.id == c.assignee_id).scalar_subquery(),
            select(Agent.last_name).where(Agent.id == c.assignee_id).scalar_subquery(),
            Tag.name,
        )
        .outerjoin(Taxpayer, Taxpayer.id == c.taxpayer_id)
        # Retired tags too: a case keeps them.
        .outerjoin(CaseTag, CaseTag.case_id == c.id)
        .outerjoin(Tag, Tag.id == CaseTag.tag_id)
        .order_by(*outer_order, Tag.name)
    )


def load_page(agent: Any, args: Mapping[str, str]) -> InboxPage:
    tab = TABS_BY_KEY.get(args.get("onglet", ""), TABS_BY_KEY[DEFAULT_TAB])
    sort = args.get("tri", "")
    if sort not in SORTS:
        sort = tab.default_sort
    filters = InboxFilters.parse(args)
    now = utcnow()
    cursor = decode_cursor(args.get("apres"))

    def page(visible: ColumnElement[bool]) -> Select[Any]:
        return _page_statement(visible, [tab.clause(agent), *filters.clauses(now)], sort, cursor)

    visible = access.cases_visible_to(agent)
    if cursor is None:  # the first page, most of the requests: built once
        statement = reading.BuiltStatements.get(
            ("page", agent.id, tab.key, sort, filters.key(now)), visible, page
        )
    else:
        statement = page(visible)
    lists = references()
    text = RowText(now)
    rows = RowBuilder(text, lists.topic_labels).rows(reading.read(statement))
    shown = rows[:PAGE_SIZE]
    return InboxPage(
        tab=tab,
        sort=sort,
        filters=filters,
        rows=shown,
        text=text,
        counts=tab_counts(agent, filters, now),
        next_cursor=encode_cursor(sort, shown[-1]) if len(rows) > PAGE_SIZE else None,
        first_page=cursor is None,
        topics=lists.topics,
        tax_matters=lists.tax_matters,
        agents=[
            Colleague(agent_id, full_name_of(first_name, last_name))
            for agent_id, first_name, last_name in reading.read(
                reading.BuiltStatements.get(
                    ("colleagues", agent.id),
                    directory_access.colleagues_of(agent),
                    lambda colleagues: (
                        select(Agent.id, Agent.first_name, Agent.last_name)
                        .where(colleagues)
                        .order_by(Agent.last_name, Agent.first_name)
                    ),
                )
            )
        ],
        tags=list(organise.usable_tags(agent)),
    )


class RowBuilder:
    """The inbox's rows from the page's columns. What rows repeat (labels, the link's prefix,
    the "n jours" of each age) is translated and built once per page: gettext and ``url_for``
    cost tens of microseconds a call, fifty rows several calls each."""

    def __init__(self, text: RowText, topic_labels: Mapping[int, str]) -> None:
        self.text = text
        self.topic_labels = topic_labels
        self.pick = gettext("Choisir la demande %(reference)s")
        self.today = text.now.date()

    def rows(self, found: Iterable[Any]) -> list[InboxRow]:
        """One row per case of ``_page_statement``'s rows (one per case and tag)."""
        text, now, today, topics = self.text, self.text.now, self.today, self.topic_labels
        prefix, suffix, channels, days = text.url_prefix, text.url_suffix, text.channels, text.days
        rows: list[InboxRow] = []
        last: InboxRow | None = None
        for (
            case_id,
            reference,
            subject,
            topic_id,
            channel,
            status,
            received_at,
            due_at,
            unread,
            forwarded,
            held,
            declared_identity,
            assignee_id,
            taxpayer_kind,
            first_name,
            last_name,
            company_name,
            tax_number,
            siren,
            taxpayer_held,
            assignee_first_name,
            assignee_last_name,
            tag,
        ) in found:
            if last is not None and last.id == case_id:  # the same case, its next tag
                last.tags.append(tag)
                continue
            overdue = status is not CaseStatus.CLOSED and due_at is not None and due_at < now
            if taxpayer_kind is not None:
                taxpayer = display_name_of(taxpayer_kind, first_name, last_name, company_name)
                identifier = identifier_of(taxpayer_kind, tax_number, siren)
            else:
                taxpayer, identifier = declared_identity or text.unidentified, ""
            last = InboxRow(
                id=case_id,
                url=f"{prefix}{case_id}{suffix}",
                reference=reference,
                pick_label=self.pick % {"reference": reference},
                css=("ec-unread" if unread else "") + (" ec-overdue" if overdue else ""),
                unread=unread,
                forwarded=forwarded,
                held=held or bool(taxpayer_held),
                identified=taxpayer_kind is not None,
                taxpayer=taxpayer,
                identifier=identifier,
                subject=subject,
                tags=[] if tag is None else [tag],
                topic=topics.get(topic_id, ""),
                channel=channels[channel],
                age=days(max(0, (today - received_at.astimezone(UTC).date()).days)),
                due=format_date(due_at) if due_at is not None else "",
                due_at=due_at,
                received_at=received_at,
                overdue=overdue,
                assignee=full_name_of(assignee_first_name, assignee_last_name)
                if assignee_id is not None
                else "—",
            )
            rows.append(last)
        return rows


class RowText:
    """What every row of a list of cases repeats, translated and built once (per process and
    language, ``_row_labels``): gettext and ``url_for`` cost tens of microseconds a call, fifty
    rows several calls each."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        labels = _row_labels()
        self.channels: dict[Channel, str] = labels["channels"]
        self.statuses: dict[CaseStatus, str] = labels["statuses"]
        self.unread: str = labels["unread"]
        self.forwarded: str = labels["forwarded"]
        self.held: str = labels["held"]
        self.overdue: str = labels["overdue"]
        self.unidentified: str = labels["unidentified"]
        self.url_prefix: str = labels["url_prefix"]
        self.url_suffix: str = labels["url_suffix"]
        self._days: dict[int, str] = labels["days"]
        self.tab_labels: dict[str, str] = labels["tabs"]
        self.sort_labels: dict[str, str] = labels["sorts"]
        self.age_labels: dict[str, str] = labels["ages"]

    def case_url(self, case: Case) -> str:
        return f"{self.url_prefix}{case.id}{self.url_suffix}"

    def days(self, days: int) -> str:
        """ "n jours", translated once for each n."""
        label = self._days.get(days)
        if label is None:
            label = self._days[days] = ngettext("%(num)s jour", "%(num)s jours", days)
        return label

    def age(self, case: Case) -> str:
        return self.days(age_in_days(case, self.now))

    def is_overdue(self, case: Case) -> bool:
        return is_overdue(case, self.now)


def _row_labels() -> dict[str, Any]:
    """The labels and the case link's parts, kept by the application per language and script
    root (the mount point of the links)."""
    copies: dict[tuple[str, str], dict[str, Any]] = current_app.extensions.setdefault(
        "econtacts_row_labels", {}
    )
    key = (str(get_locale()), request.script_root)
    labels = copies.get(key)
    if labels is None:
        marker = 2_147_483_647
        prefix, _, suffix = url_for("CasesView.show", case_id=marker).rpartition(str(marker))
        labels = copies[key] = {
            "channels": {channel: str(channel.label) for channel in Channel},
            "statuses": {status: str(status.label) for status in CaseStatus},
            "unread": gettext("Non lue"),
            "forwarded": gettext("Transmise"),
            "held": gettext("Gel juridique"),
            "overdue": gettext("En retard"),
            "unidentified": gettext("Usager non identifié"),
            "url_prefix": prefix,
            "url_suffix": suffix,
            "days": {},
            # The inbox's own lists: tabs, sorts, age buckets.
            "tabs": {tab.key: _printed(tab.label) for tab in TABS},
            "sorts": {key: _printed(label) for key, label in SORTS.items()},
            "ages": {key: _printed(bucket[0]) for key, bucket in AGES.items()},
        }
    return labels


def _printed(label: Any) -> Markup:
    """A lazy label translated now, printed as Jinja prints the lazy string itself (through its
    ``__html__``: not escaped). Our catalogue's words, never a user's."""
    return Markup(str(label))  # noqa: S704 - the catalogue's text, as the lazy string printed it


@dataclass(frozen=True, slots=True)
class TabLink:
    key: str
    label: str
    url: str
    count: str  # capped, "1 000+"


def tab_links(page: InboxPage) -> list[TabLink]:
    """The tabs with their labels, counts and links (the page's filters kept): one ``url_for``
    for all six, the tab's key put in its place."""
    marker = "ONGLET"
    url = url_for("CasesView.inbox", onglet=marker, **page.filters.as_args())  # type: ignore[arg-type]
    labels = page.text.tab_labels
    return [
        TabLink(
            key=tab.key,
            label=labels[tab.key],
            url=url.replace(marker, tab.key, 1),
            count=count_label(page.counts[tab.key]),
        )
        for tab in TABS
    ]


def age_in_days(case: Case, now: datetime) -> int:
    return max(0, (now.date() - case.received_at.astimezone(UTC).date()).days)


def is_overdue(case: Case, now: datetime) -> bool:
    return case.is_open and case.due_at is not None and case.due_at < now
