"""Agents' notices: written by the operations in the transaction of the event, read in the
header counter and the notices page, summed up in an optional daily e-mail digest.

A notice names the case by its id only; the list shows its reference and the kind of event,
never the taxpayer's words. The digest e-mail carries counts and a link, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Integer, bindparam, exists, func, insert, literal, select, update

from app.directory.access import ROLE_AGENT, ROLE_OFFICE_MANAGER
from app.notifications.outbox import public_url, queue_email
from app.platform.templating import PARIS
from models import (
    Agent,
    AgentDigest,
    AgentNotice,
    AgentPreference,
    Case,
    CaseStatus,
    NoticeKind,
    NotificationKind,
    db,
    utcnow,
)
from models.agent import holds_role
from models.base import UTCDateTime

COUNTER_CAP = 99
PAGE_SIZE = 50
CASE_HANDLERS = (ROLE_AGENT, ROLE_OFFICE_MANAGER)


def _handles_cases() -> Any:
    """An active agent or office manager bound to an office (``access.handles_cases`` in SQL)."""
    return Agent.office_id.is_not(None) & Agent.active.is_(True) & holds_role(*CASE_HANDLERS)


def _handlers_of(office_id: int) -> Any:
    """The agents and office managers of an office, as a SELECT of their ids."""
    return select(Agent.id).where(Agent.office_id == office_id, _handles_cases())


def notify_office(
    kind: NoticeKind, case: Case, *, office_id: int | None = None, skip: int | None = None
) -> None:
    """One notice per agent of the office (one INSERT ... SELECT), the actor excepted."""
    now = utcnow()
    agents = _handlers_of(office_id or case.office_id)
    if skip is not None:
        agents = agents.where(Agent.id != skip)
    rows = select(
        agents.subquery().c.id,
        literal(kind.value),
        literal(case.id),
        literal(now, type_=AgentNotice.created_at.type),
    )
    db.session.execute(
        insert(AgentNotice).from_select(["agent_id", "kind", "case_id", "created_at"], rows)
    )


def notify_agent(kind: NoticeKind, agent_id: int, case: Case) -> None:
    db.session.add(AgentNotice(agent_id=agent_id, kind=kind, case_id=case.id, created_at=utcnow()))


# --- what operations call ---------------------------------------------------------------------


def new_case(case: Case) -> None:
    notify_office(NoticeKind.NEW_CASE, case)


def taxpayer_replied(case: Case) -> None:
    if case.assignee_id is not None:
        notify_agent(NoticeKind.TAXPAYER_REPLIED, case.assignee_id, case)


def forwarded(case: Case, *, to_office_id: int, by_agent_id: int | None) -> None:
    notify_office(NoticeKind.FORWARDED, case, office_id=to_office_id, skip=by_agent_id)


# --- reading ------------------------------------------------------------------------------------


def unread_count(agent: Any) -> int:
    """Capped: the header shows "99+" beyond."""
    capped = (
        select(literal(1))
        .where(AgentNotice.agent_id == agent.id, AgentNotice.read_at.is_(None))
        .limit(COUNTER_CAP + 1)
        .subquery()
    )
    return int(db.session.scalar(select(func.count()).select_from(capped)) or 0)


def counter_label(count: int) -> str:
    return f"{COUNTER_CAP}+" if count > COUNTER_CAP else str(count)


@dataclass
class NoticeRow:
    id: int
    kind: NoticeKind
    case_id: int | None
    reference: str | None
    created_at: datetime
    read: bool


def page_for(agent: Any, *, unread_only: bool = False, before: int | None = None) -> list[Any]:
    """One page of an agent's notices, newest first, with each case's reference (one
    query). A notice of a case that has since left the office still shows, without a link."""
    query = (
        select(
            AgentNotice.id,
            AgentNotice.kind,
            AgentNotice.case_id,
            Case.reference,
            Case.office_id,
            AgentNotice.created_at,
            AgentNotice.read_at,
        )
        .outerjoin(Case, Case.id == AgentNotice.case_id)
        .where(AgentNotice.agent_id == agent.id)
        .order_by(AgentNotice.id.desc())
        .limit(PAGE_SIZE + 1)
    )
    if unread_only:
        query = query.where(AgentNotice.read_at.is_(None))
    if before is not None:
        query = query.where(AgentNotice.id < before)
    return list(db.session.execute(query).all())


def mark_read(agent: Any, notice_id: int) -> AgentNotice | None:
    notice = db.session.scalar(
        select(AgentNotice).where(AgentNotice.id == notice_id, AgentNotice.agent_id == agent.id)
    )
    if notice is not None and notice.read_at is None:
        notice.read_at = utcnow()
    return notice


def mark_all_read(agent: Any) -> int:
    result = db.session.execute(
        update(AgentNotice)
        .where(AgentNotice.agent_id == agent.id, AgentNotice.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


_NOTICES = AgentNotice.__table__
# Built once; run on the session's connection: the ORM's bulk UPDATE path cost more than the
# statement (a case's page runs it at every opening), and no notice object is kept in the
# session to synchronise.
_READ_CASE_NOTICES = (
    update(_NOTICES)
    .where(
        _NOTICES.c.agent_id == bindparam("reader_id", type_=Integer),
        _NOTICES.c.case_id == bindparam("opened_case_id", type_=Integer),
        _NOTICES.c.read_at.is_(None),
    )
    .values(read_at=bindparam("opened_at", type_=UTCDateTime()))
)


def mark_case_read(agent: Any, case_id: int) -> None:
    """Opening a case reads its notices."""
    db.session.connection().execute(
        _READ_CASE_NOTICES,
        {"reader_id": agent.id, "opened_case_id": case_id, "opened_at": utcnow()},
    )


# --- preferences ----------------------------------------------------------------------------


def wants_digest(agent: Any) -> bool:
    return bool(
        db.session.scalar(
            select(AgentPreference.daily_digest).where(AgentPreference.agent_id == agent.id)
        )
    )


def set_digest(agent: Any, wanted: bool) -> None:
    preference = db.session.get(AgentPreference, agent.id)
    if preference is None:
        preference = AgentPreference(agent_id=agent.id)
        db.session.add(preference)
    preference.daily_digest = wanted
    preference.updated_at = utcnow()


# --- the daily job ------------------------------------------------------------------------------


def paris_day(moment: datetime | None = None) -> date:
    return (moment or utcnow()).astimezone(PARIS).date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=PARIS)
    return start, start + timedelta(days=1)


def due_tomorrow(today: date) -> int:
    """A notice for each open case due tomorrow (Paris): to its assignee, else to every
    agent of its office. Once per case, agent and day, however often it runs."""
    tomorrow = today + timedelta(days=1)
    start, end = _day_bounds(tomorrow)
    now = utcnow()
    due = (Case.status != CaseStatus.CLOSED) & (Case.due_at >= start) & (Case.due_at < end)
    assigned = select(Case.assignee_id.label("agent_id"), Case.id.label("case_id")).where(
        due, Case.assignee_id.is_not(None)
    )
    handlers = _handlers_of_any()
    unassigned = (
        select(handlers.c.agent_id, Case.id.label("case_id"))
        .join(handlers, handlers.c.office_id == Case.office_id)
        .where(due, Case.assignee_id.is_(None))
    )
    targets = assigned.union_all(unassigned).subquery()
    already = exists(
        select(literal(1)).where(
            AgentNotice.agent_id == targets.c.agent_id,
            AgentNotice.case_id == targets.c.case_id,
            AgentNotice.kind == NoticeKind.DUE_TOMORROW,
            AgentNotice.day == tomorrow,
        )
    )
    rows = select(
        targets.c.agent_id,
        literal(NoticeKind.DUE_TOMORROW.value),
        targets.c.case_id,
        literal(tomorrow),
        literal(now, type_=AgentNotice.created_at.type),
    ).where(~already)
    result = db.session.execute(
        insert(AgentNotice).from_select(["agent_id", "kind", "case_id", "day", "created_at"], rows)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _handlers_of_any() -> Any:
    return (
        select(Agent.id.label("agent_id"), Agent.office_id.label("office_id"))
        .where(_handles_cases())
        .subquery()
    )


def queue_digests(day: date) -> int:
    """The digest of every agent who asked for it, once per day: counts of their unread notices
    by kind and a link, no reference and no taxpayer content. Returns how many were queued."""
    waiting = (
        select(Agent)
        .join(AgentPreference, AgentPreference.agent_id == Agent.id)
        .where(
            AgentPreference.daily_digest.is_(True),
            Agent.active.is_(True),
            Agent.email.is_not(None),
            ~exists(
                select(literal(1)).where(AgentDigest.agent_id == Agent.id, AgentDigest.day == day)
            ),
        )
        .order_by(Agent.id)
    )
    agents = list(db.session.scalars(waiting))
    if not agents:
        return 0
    counts: dict[int, dict[NoticeKind, int]] = {agent.id: {} for agent in agents}
    for agent_id, kind, count in db.session.execute(
        select(AgentNotice.agent_id, AgentNotice.kind, func.count())
        .where(AgentNotice.agent_id.in_(list(counts)), AgentNotice.read_at.is_(None))
        .group_by(AgentNotice.agent_id, AgentNotice.kind)
    ):
        counts[agent_id][kind] = int(count)
    link = public_url("NoticesView.list")
    queued = 0
    for agent in agents:
        mine = counts[agent.id]
        digest = AgentDigest(agent_id=agent.id, day=day, created_at=utcnow())
        db.session.add(digest)
        if not sum(mine.values()):
            continue  # nothing new: no e-mail, but the day is done
        lines = "\n".join(f"- {kind.label} : {mine[kind]}" for kind in NoticeKind if mine.get(kind))
        body = _(
            "Bonjour,\n\n"
            "Voici vos avis non lus dans e-contacts :\n%(lines)s\n\n"
            "Pour les consulter, connectez-vous :\n%(link)s\n\n"
            "Ce courriel ne contient aucune information sur les demandes ni sur les usagers.\n"
            "Vous pouvez l'arrêter depuis la page « Avis » d'e-contacts.\n",
            lines=lines,
            link=link,
        )
        notification = queue_email(
            kind=NotificationKind.AGENT_DIGEST,
            recipient=agent.email,
            subject=_("e-contacts : vos avis du jour"),
            body=body,
        )
        digest.notification_id = notification.id
        queued += 1
    db.session.flush()
    return queued


def daily(today: date | None = None) -> tuple[int, int]:
    """The daily pass: due-date notices for tomorrow, then the digests. Never commits."""
    today = today or paris_day()
    return due_tomorrow(today), queue_digests(today)
