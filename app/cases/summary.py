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
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from app.cases import access
from app.cases.organise import LinkedCase, linked_cases
from app.platform.cache import References, references
from app.platform.templating import PARIS
from models import OPEN_STATUSES, Case, CaseStatus, Channel, Taxpayer, Transfer, db, utcnow

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
    open_cases: list[Case]
    open_truncated: bool
    last_contact: Case | None


def glance(taxpayer: Taxpayer, *, now: datetime | None = None) -> Glance:
    """Contacts of the last 12 months by channel, the open cases, the last contact: 3 queries."""
    since = (now or utcnow()) - timedelta(days=GLANCE_DAYS)
    by_channel: dict[Channel, int] = dict(
        db.session.execute(
            select(Case.channel, func.count(Case.id))
            .where(Case.taxpayer_id == taxpayer.id, Case.received_at >= since)
            .group_by(Case.channel)
        ).all()
    )
    counts = [(channel, by_channel.get(channel, 0)) for channel in Channel]
    open_cases = list(
        db.session.scalars(
            select(Case)
            .where(Case.taxpayer_id == taxpayer.id, Case.status.in_(OPEN_STATUSES))
            .order_by(Case.received_at.desc(), Case.id.desc())
            .limit(OPEN_LIMIT + 1)
        )
    )
    last_contact = db.session.scalar(
        select(Case)
        .where(Case.taxpayer_id == taxpayer.id)
        .order_by(Case.received_at.desc(), Case.id.desc())
        .limit(1)
    )
    return Glance(
        counts=counts,
        total=sum(count for _, count in counts),
        open_cases=open_cases[:OPEN_LIMIT],
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


class Labels:
    """What the sheet's rows repeat, looked up once: the directory's names (app.platform.cache)
    and the enums' translated labels (gettext costs tens of microseconds a call)."""

    def __init__(self, directory: References | None = None) -> None:
        self.directory = directory or references()
        self.channels = {channel: str(channel.label) for channel in Channel}
        self.statuses = {status: str(status.label) for status in CaseStatus}

    def office(self, office_id: int | None) -> str:
        return self.directory.office_names.get(office_id or 0, "")

    def topic(self, case: Case) -> str:
        return self.directory.topic_labels.get(case.topic_id or 0, "")

    def tax_matter(self, case: Case) -> str:
        return self.directory.tax_matter_labels.get(case.tax_matter_id or 0, "")


# --- the timeline ---------------------------------------------------------------------------


@dataclass
class Entry:
    case: Case
    may_open: bool
    recorded_by_me: bool = False
    # Cases linked to this one, or merged with it (issue 16).
    links: list[LinkedCase] = field(default_factory=list)

    kind = "case"

    @property
    def agent(self) -> Any:
        return self.case.created_by or self.case.assignee

    @property
    def moment(self) -> datetime:
        return self.case.received_at


@dataclass
class TransferEvent:
    """A transfer (``kind`` "transferred") or its acknowledgement ("acknowledged"), as a line of
    the timeline at the moment it happened."""

    kind: str
    transfer: Transfer
    reference: str
    may_open: bool

    @property
    def moment(self) -> datetime:
        at = self.transfer.created_at
        if self.kind == "acknowledged" and self.transfer.acknowledged_at is not None:
            at = self.transfer.acknowledged_at
        return at

    @property
    def agent(self) -> Any:
        return self.transfer.acknowledged_by if self.kind == "acknowledged" else self.transfer.agent


_ORDER = {"case": 0, "transferred": 1, "acknowledged": 2}


@dataclass
class TimelinePage:
    entries: list[Entry]
    next_cursor: Cursor | None
    # The cases and the transfers and acknowledgements that happened between the page's
    # first and last case, newest first.
    rows: list[Entry | TransferEvent] = field(default_factory=list)


def _timeline_query(agent: Any, taxpayer: Taxpayer, filters: Filters) -> Select[Case, bool]:
    return (
        select(Case, access.cases_visible_to(agent).label("may_open"))
        .options(joinedload(Case.created_by), joinedload(Case.assignee))
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

    # An alias: the office filter's EXISTS on Transfer must not correlate with these rows.
    moved = aliased(Transfer)
    rows = db.session.execute(
        select(moved, Case.reference, access.cases_visible_to(agent).label("may_open"))
        .join(Case, moved.case_id == Case.id)
        .options(joinedload(moved.agent), joinedload(moved.acknowledged_by))
        .where(
            Case.taxpayer_id == taxpayer.id,
            *filters.clauses(),
            or_(within(moved.created_at), within(moved.acknowledged_at)),
        )
    ).all()
    events: list[TransferEvent] = []
    for transfer, reference, may_open in rows:
        for kind, at in (
            ("transferred", transfer.created_at),
            ("acknowledged", transfer.acknowledged_at),
        ):
            if at is None:
                continue
            if (newer_than is None or at >= newer_than) and (older_than is None or at < older_than):
                events.append(TransferEvent(kind, transfer, reference, bool(may_open)))
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
            case=row[0],
            may_open=bool(row[1]),
            recorded_by_me=row[0].created_by_id is not None and row[0].created_by_id == agent_id,
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
