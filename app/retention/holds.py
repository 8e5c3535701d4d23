"""Legal holds: a taxpayer or a case kept out of retention (no archiving, no purge) for as
long as a procedure needs it. Placed and lifted by administrators, with a mandatory reason,
each time recorded as an event (the case's or taxpayer's history) and in the read log.

Operations flush, never commit (the view commits once). Retention reads ``held_cases()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import joinedload

from models import AccessLog, Agent, Case, Event, EventKind, Taxpayer, db

REASON_MAX = 255
LOG_OBJECT = "legal_hold"  # AccessLog.object_kind of placing or lifting a hold


class HoldRefused(ValueError):
    """The hold cannot change (already placed, not placed); the message is for the screen."""


def held_cases() -> ColumnElement[bool]:
    """Cases under hold, themselves or through their taxpayer."""
    return or_(
        Case.legal_hold.is_(True),
        Case.taxpayer_id.in_(select(Taxpayer.id).where(Taxpayer.legal_hold.is_(True))),
    )


def find_target(text: str) -> Case | Taxpayer | None:
    """A case by its reference, or a taxpayer by tax number or SIREN (spaces ignored)."""
    value = "".join(text.split())
    if not value:
        return None
    if value.isdigit() and len(value) in (9, 13):
        column = Taxpayer.tax_number if len(value) == 13 else Taxpayer.siren
        return db.session.scalar(select(Taxpayer).where(column == value))
    return db.session.scalar(select(Case).where(func.upper(Case.reference) == value.upper()))


def _record(kind: EventKind, target: Case | Taxpayer, *, agent: Agent, reason: str) -> None:
    case = target if isinstance(target, Case) else None
    taxpayer_id = case.taxpayer_id if case is not None else target.id
    db.session.add(
        Event(
            kind=kind,
            case_id=case.id if case is not None else None,
            taxpayer_id=taxpayer_id,
            office_id=case.office_id if case is not None else None,
            actor_agent_id=agent.id,
            data={"reason": reason},
        )
    )
    db.session.add(
        AccessLog(
            agent_id=agent.id,
            office_id=agent.office_id,
            taxpayer_id=taxpayer_id,
            case_id=case.id if case is not None else None,
            object_kind=LOG_OBJECT,
            object_id=target.id,
            reason=reason,
        )
    )


def _clean(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise HoldRefused("reason")
    return reason[:REASON_MAX]


def place_hold(target: Case | Taxpayer, *, agent: Agent, reason: str) -> None:
    reason = _clean(reason)
    if target.legal_hold:
        raise HoldRefused("already")
    target.legal_hold = True
    _record(EventKind.LEGAL_HOLD_PLACED, target, agent=agent, reason=reason)
    db.session.flush()


def lift_hold(target: Case | Taxpayer, *, agent: Agent, reason: str) -> None:
    reason = _clean(reason)
    if not target.legal_hold:
        raise HoldRefused("not_held")
    target.legal_hold = False
    _record(EventKind.LEGAL_HOLD_LIFTED, target, agent=agent, reason=reason)
    db.session.flush()


@dataclass(frozen=True)
class Hold:
    """A hold in force, as the administrators' list shows it."""

    kind: str  # "case" or "taxpayer"
    target_id: int
    label: str
    placed_at: datetime | None
    placed_by: str
    reason: str


def holds_in_force(limit: int = 500) -> list[Hold]:
    """Every hold in force with when, by whom and why it was placed (its last placing event)."""
    last = (
        select(
            Event.case_id,
            Event.taxpayer_id,
            func.max(Event.id).label("event_id"),
        )
        .where(Event.kind == EventKind.LEGAL_HOLD_PLACED)
        .group_by(Event.case_id, Event.taxpayer_id)
        .subquery()
    )

    def placing(condition: Any) -> dict[Any, Event]:
        events = db.session.scalars(
            select(Event)
            .join(last, last.c.event_id == Event.id)
            .where(condition)
            .options(joinedload(Event.actor_agent))
        ).all()
        return {event.case_id or event.taxpayer_id: event for event in events}

    cases = db.session.scalars(
        select(Case).where(Case.legal_hold.is_(True)).order_by(Case.id).limit(limit)
    ).all()
    taxpayers = db.session.scalars(
        select(Taxpayer).where(Taxpayer.legal_hold.is_(True)).order_by(Taxpayer.id).limit(limit)
    ).all()
    case_events = placing(and_(last.c.case_id.in_([c.id for c in cases])))
    taxpayer_events = placing(
        and_(last.c.case_id.is_(None), last.c.taxpayer_id.in_([t.id for t in taxpayers]))
    )
    holds = []
    for taxpayer in taxpayers:
        event = taxpayer_events.get(taxpayer.id)
        holds.append(_hold("taxpayer", taxpayer.id, str(taxpayer), event))
    for case in cases:
        holds.append(_hold("case", case.id, case.reference, case_events.get(case.id)))
    return holds


def _hold(kind: str, target_id: int, label: str, event: Event | None) -> Hold:
    return Hold(
        kind=kind,
        target_id=target_id,
        label=label,
        placed_at=event.created_at if event else None,
        placed_by=event.actor_agent.full_name if event and event.actor_agent else "",
        reason=str(event.data.get("reason", "")) if event else "",
    )
