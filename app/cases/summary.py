"""The taxpayer's summary sheet (fiche de synthèse): every case and contact, in bounded queries.

Whatever the size of a taxpayer's history, a sheet costs the same number of queries: the figures
are SQL aggregates (``GROUP BY channel``), the timeline is one keyset page with its joins, and the
transfers and acknowledgements that happened within the page's span are one more query (lines of
the timeline of their own). Who may read what is decided by ``app.cases.access``: any agent
serving the taxpayer sees the metadata of every case (dates, channel, topic, status, offices,
agents); the subject, the transfer reasons and the link to the case only where
``access.cases_visible_to`` lets the agent open the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from app.cases import access
from app.cases.organise import LinkedCase, linked_cases
from app.platform.cache import References, references
from app.platform.templating import PARIS, format_date, format_datetime
from models import (
    OPEN_STATUSES,
    Agent,
    Case,
    CaseStatus,
    Channel,
    Taxpayer,
    Transfer,
    db,
    utcnow,
)
from models.agent import joined_name_of

PAGE_SIZE = 50
OPEN_LIMIT = 50
GLANCE_DAYS = 365


def taxpayer_for_agent(agent: Any, taxpayer_id: int) -> Taxpayer | None:
    """The taxpayer if the agent may look them up, else None (the caller answers 404)."""
    return db.session.scalar(
        select(Taxpayer).where(Taxpayer.id == taxpayer_id, access.taxpayers_visible_to(agent))
    )


# --- filters and the keyset cursor ---------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The timeline's filters: channel, an office the case went through, a period (local
    dates, both included)."""

    channel: Channel | None = None
    office_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def clauses(self) -> list[Any]:
        clauses: list[Any] = []
        if self.channel is not None:
            clauses.append(Case.channel == self.channel)
        if self.office_id is not None:
            # The office holds it now, or it passed through it (sent from / forwarded to it).
            went_through = exists().where(
                Transfer.case_id == Case.id,
                or_(
                    Transfer.from_office_id == self.office_id,
                    Transfer.to_office_id == self.office_id,
                ),
            )
            clauses.append(or_(Case.office_id == self.office_id, went_through))
        if self.date_from is not None:
            clauses.append(Case.received_at >= _local_midnight(self.date_from))
        if self.date_to is not None:
            clauses.append(Case.received_at < _local_midnight(self.date_to + timedelta(days=1)))
        return clauses


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=PARIS).astimezone(UTC)


@dataclass(frozen=True)
class Cursor:
    """Where a timeline page starts: strictly older than (received_at, id)."""

    received_at: datetime
    case_id: int

    def encode(self) -> str:
        moment = self.received_at.astimezone(UTC)
        return f"{moment.strftime('%Y%m%dT%H%M%S.%f')}_{self.case_id}"

    @classmethod
    def decode(cls, value: str | None) -> Cursor | None:
        if not value:
            return None
        try:
            stamp, case_id = value.split("_", 1)
            moment = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
            return cls(moment, int(case_id))
        except ValueError:
            return None

    def clause(self) -> Any:
        return or_(
            Case.received_at < self.received_at,
            and_(Case.received_at == self.received_at, Case.id < self.case_id),
        )


# --- at a glance ----------------------------------------------------------------------------


@dataclass
class Glance:
    counts: list[tuple[Channel, int]]
    total: int
    # Rows of reference, office_id, topic_id, status, awaiting_acknowledgement.
    open_cases: list[Any]
    open_truncated: bool
    # A row of received_at, channel, office_id.
    last_contact: Any | None


# ``glance``'s newest case when the caller does not know it.
UNKNOWN: Any = object()


def glance(taxpayer: Taxpayer, *, now: datetime | None = None, newest: Any = UNKNOWN) -> Glance:
    """Contacts of the last 12 months by channel, the open cases, the last contact: 3 queries,
    2 when the caller already knows the newest case (``newest``: the first line of the first
    page of the unfiltered timeline, a row with received_at, channel and office_id, or None
    when the taxpayer has none)."""
    since = (now or utcnow()) - timedelta(days=GLANCE_DAYS)
    by_channel: dict[Channel, int] = dict(
        db.session.execute(
            select(Case.channel, func.count(Case.id))
            .where(Case.taxpayer_id == taxpayer.id, Case.received_at >= since)
            .group_by(Case.channel)
        ).all()
    )
    counts = [(channel, by_channel.get(channel, 0)) for channel in Channel]
    open_cases = db.session.execute(
        select(
            Case.reference,
            Case.office_id,
            Case.topic_id,
            Case.status,
            Case.awaiting_acknowledgement,
        )
        .where(Case.taxpayer_id == taxpayer.id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.received_at.desc(), Case.id.desc())
        .limit(OPEN_LIMIT + 1)
    ).all()
    last_contact = newest
    if last_contact is UNKNOWN:
        last_contact = db.session.execute(
            select(Case.received_at, Case.channel, Case.office_id)
            .where(Case.taxpayer_id == taxpayer.id)
            .order_by(Case.received_at.desc(), Case.id.desc())
            .limit(1)
        ).first()
    return Glance(
        counts=counts,
        total=sum(count for _, count in counts),
        open_cases=list(open_cases[:OPEN_LIMIT]),
        open_truncated=len(open_cases) > OPEN_LIMIT,
        last_contact=last_contact,
    )


@dataclass(frozen=True)
class OfficeChoice:
    id: int
    name: str


def offices_of(taxpayer: Taxpayer) -> list[OfficeChoice]:
    """The offices the taxpayer's cases are in or went through (the office filter's choices)."""
    current = select(Case.office_id).where(Case.taxpayer_id == taxpayer.id)
    passed = (
        select(Transfer.from_office_id)
        .join(Case, Transfer.case_id == Case.id)
        .where(Case.taxpayer_id == taxpayer.id)
    )
    names = references().office_names
    ids = db.session.scalars(current.union(passed)).all()
    offices = [OfficeChoice(office_id, names.get(office_id, "")) for office_id in ids]
    return sorted(offices, key=lambda office: (office.name, office.id))


# --- the timeline ---------------------------------------------------------------------------

# The columns a line of the timeline shows: plain rows, no ORM objects (a page of 50 cases and
# their agents as objects cost more CPU than the rest of the page).
_CASE_COLUMNS = (
    Case.id,
    Case.reference,
    Case.channel,
    Case.topic_id,
    Case.tax_matter_id,
    Case.tax_year,
    Case.subject,
    Case.status,
    Case.office_id,
    Case.recording_office_id,
    Case.created_by_id,
    Case.received_at,
    Case.first_answer_at,
    Case.closed_at,
    Case.withdrawn_at,
    Case.outcome,
    Case.visible_to_taxpayer,
    Case.legal_hold,
)


@cache
def _timeline_base() -> Select[*tuple[Any, ...]]:
    """The timeline's SELECT without its WHERE, built once per process: the aliases' columns
    are adapted at each access, a cost per request the page need not pay."""
    creator = aliased(Agent, name="creator")
    assignee = aliased(Agent, name="assignee")
    return (
        select(
            *_CASE_COLUMNS,
            creator.first_name.label("creator_first"),
            creator.last_name.label("creator_last"),
            assignee.first_name.label("assignee_first"),
            assignee.last_name.label("assignee_last"),
        )
        .outerjoin(creator, creator.id == Case.created_by_id)
        .outerjoin(assignee, assignee.id == Case.assignee_id)
    )


@cache
def _transfers_base() -> tuple[Select[*tuple[Any, ...]], Any, Any]:
    """The transfer events' SELECT without its WHERE (built once, as ``_timeline_base``), and
    the transfer's two moments. An alias of Transfer: the office filter's EXISTS on Transfer
    must not correlate with these rows."""
    moved = aliased(Transfer, name="moved")
    sender = aliased(Agent, name="sender")
    acknowledger = aliased(Agent, name="acknowledger")
    query = (
        select(
            moved.created_at,
            moved.acknowledged_at,
            moved.from_office_id,
            moved.to_office_id,
            moved.reason,
            Case.reference,
            sender.first_name,
            sender.last_name,
            acknowledger.first_name,
            acknowledger.last_name,
        )
        .join(Case, moved.case_id == Case.id)
        .outerjoin(sender, sender.id == moved.agent_id)
        .outerjoin(acknowledger, acknowledger.id == moved.acknowledged_by_id)
    )
    return query, moved.created_at, moved.acknowledged_at


@dataclass(slots=True)
class Entry:
    """A case of the timeline: its columns (a row of ``_CASE_COLUMNS``), whether the agent may
    open it, and who recorded it (else who handles it)."""

    case: Any
    may_open: bool
    recorded_by_me: bool
    agent_name: str | None
    # Cases linked to this one, or merged with it (issue 16).
    links: list[LinkedCase] = field(default_factory=list)

    kind = "case"

    @property
    def moment(self) -> datetime:
        moment: datetime = self.case.received_at
        return moment


@dataclass(slots=True)
class TransferEvent:
    """A transfer (``kind`` "transferred") or its acknowledgement ("acknowledged"), as a line of
    the timeline at the moment it happened; ``agent_name``: who sent, or who acknowledged."""

    kind: str
    moment: datetime
    reference: str
    may_open: bool
    from_office_id: int
    to_office_id: int
    reason: str
    created_at: datetime
    agent_name: str | None


_ORDER = {"case": 0, "transferred": 1, "acknowledged": 2}


@dataclass
class TimelinePage:
    entries: list[Entry]
    next_cursor: Cursor | None
    # The cases and the transfers and acknowledgements that happened between the page's
    # first and last case, newest first.
    rows: list[Entry | TransferEvent] = field(default_factory=list)


def _timeline_query(agent: Any, taxpayer: Taxpayer, filters: Filters) -> Select[*tuple[Any, ...]]:
    return (
        _timeline_base()
        .add_columns(access.cases_visible_to(agent).label("may_open"))
        .where(Case.taxpayer_id == taxpayer.id, *filters.clauses())
    )


def _transfer_events(
    agent: Any,
    taxpayer: Taxpayer,
    filters: Filters,
    *,
    newer_than: datetime | None,
    older_than: datetime | None,
) -> list[TransferEvent]:
    """The transfers and acknowledgements of the taxpayer's (filtered) cases that happened
    in [newer_than, older_than): one query, whatever the history."""

    def within(column: Any) -> Any:
        clauses = [column.is_not(None)]
        if newer_than is not None:
            clauses.append(column >= newer_than)
        if older_than is not None:
            clauses.append(column < older_than)
        return and_(*clauses)

    query, created, acknowledged = _transfers_base()
    rows = db.session.execute(
        query.add_columns(access.cases_visible_to(agent).label("may_open")).where(
            Case.taxpayer_id == taxpayer.id,
            *filters.clauses(),
            or_(within(created), within(acknowledged)),
        )
    ).all()
    events: list[TransferEvent] = []
    for (
        created_at,
        acknowledged_at,
        from_office_id,
        to_office_id,
        reason,
        reference,
        *names,
        may_open,
    ) in rows:
        for kind, at, first, last in (
            ("transferred", created_at, names[0], names[1]),
            ("acknowledged", acknowledged_at, names[2], names[3]),
        ):
            if at is None:
                continue
            if (newer_than is None or at >= newer_than) and (older_than is None or at < older_than):
                events.append(
                    TransferEvent(
                        kind,
                        at,
                        reference,
                        bool(may_open),
                        from_office_id,
                        to_office_id,
                        reason,
                        created_at,
                        joined_name_of(first, last),
                    )
                )
    return events


def timeline(
    agent: Any,
    taxpayer: Taxpayer,
    *,
    filters: Filters | None = None,
    cursor: Cursor | None = None,
    page_size: int = PAGE_SIZE,
) -> TimelinePage:
    """One page of every case and contact, newest first, with the transfers and their
    acknowledgements as lines of their own: 3 queries (cases, transfer events, links)."""
    filters = filters or Filters()
    query = _timeline_query(agent, taxpayer, filters)
    if cursor is not None:
        query = query.where(cursor.clause())
    rows = db.session.execute(
        query.order_by(Case.received_at.desc(), Case.id.desc()).limit(page_size + 1)
    ).all()
    more = len(rows) > page_size
    agent_id = getattr(agent, "id", None)
    entries = [
        Entry(
            case=row,
            may_open=bool(row.may_open),
            recorded_by_me=row.created_by_id is not None and row.created_by_id == agent_id,
            agent_name=joined_name_of(row.creator_first, row.creator_last)
            or joined_name_of(row.assignee_first, row.assignee_last),
        )
        for row in rows[:page_size]
    ]
    if entries:
        links = linked_cases([entry.case.id for entry in entries])
        for entry in entries:
            entry.links = links[entry.case.id]
    next_cursor = None
    if more:
        last = entries[-1].case
        next_cursor = Cursor(last.received_at, last.id)
    events = _transfer_events(
        agent,
        taxpayer,
        filters,
        newer_than=next_cursor.received_at if next_cursor else None,
        older_than=cursor.received_at if cursor else None,
    )
    merged: list[Entry | TransferEvent] = [*entries, *events]
    merged.sort(key=lambda row: (row.moment, _ORDER[row.kind]), reverse=True)
    return TimelinePage(entries=entries, next_cursor=next_cursor, rows=merged)


# --- the lines as the page shows them ------------------------------------------------------


@dataclass(slots=True)
class CaseLine:
    """A case of the timeline with every text ready: the template only places them (filters,
    look-ups and translations per row in Jinja cost more than the rest of the page)."""

    id: int
    reference: str
    may_open: bool
    recorded_by_me: bool
    received: str
    channel: str
    channel_label: str
    classification: str  # topic — tax matter year
    subject: str | None  # only where the agent may open the case
    hidden: bool  # not visible to the taxpayer
    links: list[LinkedCase]
    held: bool
    office: str
    recorded_by: str | None  # the recording office, where it is not the case's office
    agent: str
    status: str
    outcome: str | None  # only where the agent may open the case
    first_answer: str | None
    closed: str | None

    kind = "case"


@dataclass(slots=True)
class TransferLine:
    kind: str  # "transferred" or "acknowledged"
    reference: str
    moment: str
    office: str  # the receiving office
    agent: str
    route: str = ""  # a transfer: origin → destination
    reason: str | None = None  # a transfer, where the agent may open the case
    received: str = ""  # an acknowledgement: received by ..., forwarded on ...


@dataclass(slots=True)
class OpenLine:
    reference: str
    office: str
    topic: str
    status: str
    awaiting_acknowledgement: bool


class Labels:
    """What the sheet's rows repeat, looked up once: the directory's names (app.platform.cache),
    the enums' translated labels and the sentences of a line (gettext costs tens of
    microseconds a call), then every line's texts in one Python pass."""

    def __init__(self, directory: References | None = None) -> None:
        self.directory = directory or references()
        self.channels = {channel: str(channel.label) for channel in Channel}
        self.statuses = {status: str(status.label) for status in CaseStatus}
        self.withdrawn = _("Retirée par l'usager")
        self.first_answer = _("1re réponse : %(date)s")
        self.closed = _("Clôturée : %(date)s")
        self.route = _("%(origin)s → %(destination)s")
        self.reason = _("Motif : %(reason)s")
        self.received = _("Reçue par %(office)s, transmise le %(date)s")

    def office(self, office_id: int | None) -> str:
        return self.directory.office_names.get(office_id or 0, "")

    def topic(self, case: Any) -> str:
        return self.directory.topic_labels.get(case.topic_id or 0, "")

    def tax_matter(self, case: Any) -> str:
        return self.directory.tax_matter_labels.get(case.tax_matter_id or 0, "")

    def lines(self, rows: list[Entry | TransferEvent]) -> list[CaseLine | TransferLine]:
        return [
            self._case_line(row) if isinstance(row, Entry) else self._transfer_line(row)
            for row in rows
        ]

    def open_lines(self, open_cases: list[Any]) -> list[OpenLine]:
        return [
            OpenLine(
                case.reference,
                self.office(case.office_id),
                self.topic(case),
                self.statuses[case.status],
                case.awaiting_acknowledgement,
            )
            for case in open_cases
        ]

    def _case_line(self, entry: Entry) -> CaseLine:
        case = entry.case
        office_names = self.directory.office_names
        classification = self.directory.topic_labels.get(case.topic_id or 0, "")
        if case.tax_matter_id:
            classification += " — " + self.tax_matter(case)
        if case.tax_year:
            classification += f" {case.tax_year}"
        recording = case.recording_office_id
        return CaseLine(
            id=case.id,
            reference=case.reference,
            may_open=entry.may_open,
            recorded_by_me=entry.recorded_by_me,
            received=format_datetime(case.received_at),
            channel=case.channel.value,
            channel_label=self.channels[case.channel],
            classification=classification,
            subject=case.subject if entry.may_open else None,
            hidden=not case.visible_to_taxpayer,
            links=entry.links,
            held=case.legal_hold,
            office=office_names.get(case.office_id or 0, ""),
            recorded_by=(
                office_names.get(recording, "")
                if recording and recording != case.office_id
                else None
            ),
            agent=entry.agent_name or "—",
            status=self.withdrawn if case.withdrawn_at else self.statuses[case.status],
            outcome=case.outcome if case.outcome and entry.may_open else None,
            first_answer=(
                self.first_answer % {"date": format_date(case.first_answer_at)}
                if case.first_answer_at
                else None
            ),
            closed=(
                self.closed % {"date": format_date(case.closed_at)} if case.closed_at else None
            ),
        )

    def _transfer_line(self, event: TransferEvent) -> TransferLine:
        to_office = self.office(event.to_office_id)
        line = TransferLine(
            kind=event.kind,
            reference=event.reference,
            moment=format_datetime(event.moment),
            office=to_office,
            agent=event.agent_name or "—",
        )
        if event.kind == "transferred":
            origin = self.office(event.from_office_id)
            line.route = self.route % {"origin": origin, "destination": to_office}
            if event.may_open:
                line.reason = self.reason % {"reason": event.reason}
        else:
            line.received = self.received % {
                "office": to_office,
                "date": format_date(event.created_at),
            }
        return line


# --- finding a taxpayer (contact form, attaching a contact) --------------------------------------

SEARCH_LIMIT = 20


@dataclass
class SearchResult:
    taxpayers: list[Taxpayer]
    truncated: bool
    error: str | None = None


def search_taxpayers(
    agent: Any, *, identifier: str = "", name: str = "", commune: str = ""
) -> SearchResult:
    """By tax number (13 digits) or SIREN (9 digits), or by name with an optional commune (INSEE
    code, postcode or the start of the city's name). At most ``SEARCH_LIMIT`` results."""
    digits = "".join(identifier.split())
    name = name.strip()
    commune = commune.strip()
    query = select(Taxpayer).where(access.taxpayers_visible_to(agent))
    if digits:
        if digits.isdigit() and len(digits) == 13:
            query = query.where(Taxpayer.tax_number == digits)
        elif digits.isdigit() and len(digits) == 9:
            query = query.where(Taxpayer.siren == digits)
        else:
            return SearchResult(
                [],
                False,
                _(
                    "Saisissez un numéro fiscal (13 chiffres) ou un SIREN (9 chiffres), ou "
                    "recherchez par nom et commune."
                ),
            )
    elif name:
        query = query.where(
            or_(
                func.lower(Taxpayer.last_name).startswith(name.lower(), autoescape=True),
                func.lower(Taxpayer.company_name).startswith(name.lower(), autoescape=True),
            )
        )
        if commune:
            if commune.isdigit() and len(commune) == 5:
                query = query.where(
                    or_(Taxpayer.commune_code == commune, Taxpayer.postcode == commune)
                )
            else:
                query = query.where(
                    func.lower(Taxpayer.city).startswith(commune.lower(), autoescape=True)
                )
    else:
        return SearchResult(
            [], False, _("Saisissez un numéro fiscal, un SIREN, ou un nom (et sa commune).")
        )
    found = list(
        db.session.scalars(
            query.order_by(Taxpayer.last_name, Taxpayer.first_name, Taxpayer.id).limit(
                SEARCH_LIMIT + 1
            )
        )
    )
    return SearchResult(found[:SEARCH_LIMIT], len(found) > SEARCH_LIMIT)
