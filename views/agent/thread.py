"""What a request's page shows: the request, its thread, history, transfers and the choices its
forms offer. A fixed number of queries whatever the length of the thread."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import access, presence
from app.templating import format_date
from models import (
    Agent,
    Case,
    CaseStatus,
    Event,
    EventKind,
    Message,
    Office,
    OfficeKind,
    ReplyTemplate,
    Transfer,
    db,
    utcnow,
)

STEERING_KINDS = [kind for kind in OfficeKind if kind.steers]


@dataclass
class FilledTemplate:
    id: int
    title: str
    body: str


@dataclass
class OfficeGroup:
    label: str
    offices: list[Office]


@dataclass
class HistoryLine:
    event: Event
    label: str
    details: list[str]


@dataclass
class CasePage:
    case: Case
    messages: list[Message]
    history: list[HistoryLine]
    transfers: list[Transfer]
    templates: list[FilledTemplate]
    assignable: list[Agent]
    office_groups: list[OfficeGroup]
    viewers: list[presence.Viewer]
    last_message_id: int
    may: dict[str, bool] = field(default_factory=dict)


def fill_template(body: str, case: Case, *, today: datetime | None = None) -> str:
    """The template with ``{nom}``, ``{reference}``, ``{service}``, ``{date}`` filled in; any
    other brace is left as written."""
    name = case.taxpayer.display_name if case.taxpayer else (case.declared_identity or "")
    values = {
        "{nom}": name,
        "{reference}": case.reference,
        "{service}": case.office.name if case.office else "",
        "{date}": format_date(today or utcnow()),
    }
    for variable, value in values.items():
        body = body.replace(variable, value)
    return body


def _history(events: list[Event], transfers: list[Transfer]) -> list[HistoryLine]:
    offices: dict[int, str] = {}
    for transfer in transfers:
        offices[transfer.from_office_id] = transfer.from_office.name
        offices[transfer.to_office_id] = transfer.to_office.name
    statuses = {status.value: str(status.label) for status in CaseStatus}
    lines = []
    for event in events:
        data = event.data or {}
        details: list[str] = []
        if event.kind is EventKind.TRANSFERRED:
            source = offices.get(data.get("from_office_id") or 0, "")
            target = data.get("to_office") or offices.get(data.get("to_office_id") or 0, "")
            details.append(_("De %(source)s vers %(target)s", source=source, target=target))
            if data.get("reason"):
                details.append(_("Motif : %(reason)s", reason=data["reason"]))
        elif event.kind is EventKind.ASSIGNED:
            if data.get("assignee"):
                details.append(_("Attribuée à %(name)s", name=data["assignee"]))
            else:
                details.append(_("Plus attribuée à personne"))
        elif event.kind is EventKind.CLOSED and data.get("outcome"):
            details.append(_("Issue : %(outcome)s", outcome=data["outcome"]))
        elif event.kind is EventKind.REOPENED and data.get("reason"):
            details.append(_("Motif : %(reason)s", reason=data["reason"]))
        elif event.kind is EventKind.STATUS_CHANGED:
            details.append(
                _(
                    "%(old)s → %(new)s",
                    old=statuses.get(data.get("old", ""), ""),
                    new=statuses.get(data.get("new", ""), ""),
                )
            )
        lines.append(HistoryLine(event=event, label=str(event.kind.label), details=details))
    return lines


def load(agent: Any, case: Case) -> CasePage:
    """Everything the page shows, in a fixed number of queries."""
    messages = list(
        db.session.scalars(
            select(Message)
            .where(Message.case_id == case.id)
            .options(
                selectinload(Message.author_agent),
                selectinload(Message.author_office),
                selectinload(Message.attachments),
            )
            .order_by(Message.created_at, Message.id)
        )
    )
    events = list(
        db.session.scalars(
            select(Event)
            .where(Event.case_id == case.id)
            .options(selectinload(Event.actor_agent))
            .order_by(Event.created_at, Event.id)
        )
    )
    transfers = list(
        db.session.scalars(
            select(Transfer)
            .where(Transfer.case_id == case.id)
            .options(
                selectinload(Transfer.from_office),
                selectinload(Transfer.to_office),
                selectinload(Transfer.agent),
                selectinload(Transfer.acknowledged_by),
            )
            .order_by(Transfer.created_at, Transfer.id)
        )
    )
    may = {action: access.may(agent, action, case) for action in access.ACTIONS}
    templates = [
        FilledTemplate(id=t.id, title=t.title, body=fill_template(t.body, case))
        for t in db.session.scalars(
            select(ReplyTemplate)
            .where(access.templates_usable_by(agent))
            .order_by(ReplyTemplate.title, ReplyTemplate.id)
        )
    ]
    assignable: list[Agent] = []
    if may["assign"]:
        assignable = list(
            db.session.scalars(
                select(Agent)
                .where(access.agents_assignable_by(agent))
                .order_by(Agent.last_name, Agent.first_name)
            )
        )
    office_groups: list[OfficeGroup] = []
    if may["transfer"]:
        office_groups = transfer_targets(case)
    viewers = presence.mark(case.id, agent.id, agent.full_name)
    last_message_id = max((message.id for message in messages), default=0)
    return CasePage(
        case=case,
        messages=messages,
        history=_history(events, transfers),
        transfers=transfers,
        templates=templates,
        assignable=assignable,
        office_groups=office_groups,
        viewers=viewers,
        last_message_id=last_message_id,
        may=may,
    )


def transfer_targets(case: Case) -> list[OfficeGroup]:
    """Active offices that receive requests, grouped by their directorate."""
    offices = db.session.scalars(
        select(Office)
        .where(
            Office.active.is_(True),
            Office.kind.not_in(STEERING_KINDS),
            Office.id != case.office_id,
        )
        .options(selectinload(Office.parent))
        .order_by(Office.name)
    ).all()
    groups: dict[str, list[Office]] = defaultdict(list)
    for office in offices:
        groups[office.parent.name if office.parent else _("Autres services")].append(office)
    return [OfficeGroup(label=label, offices=groups[label]) for label in sorted(groups)]


def newer_messages_by_others(case: Case, agent: Any, last_message_id: int | None) -> int:
    """How many messages others added after the one the page showed last."""
    if last_message_id is None:
        return 0
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.case_id == case.id,
                Message.id > last_message_id,
                (Message.author_agent_id.is_(None)) | (Message.author_agent_id != agent.id),
            )
        )
        or 0
    )
