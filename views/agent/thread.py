"""What a case's page shows: the case, its thread, history, transfers and the choices its
forms offer. A fixed number of queries whatever the length of the thread."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from app.cases import access, organise, presence, routing
from app.cases.guidance import fill_template
from app.directory import access as directory_access
from app.directory import kinds
from app.platform.cache import VersionedCache, references
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
    Tag,
    TemplateAction,
    Transfer,
    db,
)

REASON_EVENTS = (EventKind.REOPENED, EventKind.LEGAL_HOLD_PLACED, EventKind.LEGAL_HOLD_LIFTED)


@dataclass
class FilledTemplate:
    id: int
    title: str
    body: str
    # A macro: the kind of message ("reponse" / "precision"), close or not, the outcome.
    action: str | None = None
    kind: str = "reponse"
    close: bool = False
    outcome_id: int | None = None

    @classmethod
    def of(cls, template: ReplyTemplate, case: Case) -> FilledTemplate:
        action = template.action
        return cls(
            id=template.id,
            title=template.title,
            body=fill_template(template.body, case),
            action=action.value if action else None,
            kind="precision" if action is TemplateAction.REQUEST_INFORMATION else "reponse",
            close=action is TemplateAction.ANSWER_AND_CLOSE,
            outcome_id=template.closing_outcome_id
            if action is TemplateAction.ANSWER_AND_CLOSE
            else None,
        )

    def form_values(self) -> dict[str, str]:
        """What the message form shows once the template is applied (``?modele=<id>``)."""
        values = {"body": self.body, "kind": self.kind}
        if self.close:
            values["close"] = "1"
            values["outcome_id"] = str(self.outcome_id or "")
        return values


@dataclass(frozen=True)
class TargetOffice:
    id: int
    name: str


@dataclass(frozen=True)
class OfficeGroup:
    label: str
    offices: tuple[TargetOffice, ...]


@dataclass
class TransferDirectory:
    """Every office that receives cases, by directorate: one copy per process
    (app.platform.cache), with the ``<optgroup>`` markup of the forward select built once per
    sending office."""

    groups: tuple[OfficeGroup, ...]
    _options: dict[int, Markup] = field(default_factory=dict)

    def excluding(self, office_id: int | None) -> list[OfficeGroup]:
        groups = []
        for group in self.groups:
            offices = tuple(office for office in group.offices if office.id != office_id)
            if offices:
                groups.append(OfficeGroup(label=group.label, offices=offices))
        return groups

    def options(self, office_id: int | None) -> Markup:
        key = office_id or 0
        if key not in self._options:
            self._options[key] = Markup("").join(
                Markup('<optgroup label="{}">{}</optgroup>').format(
                    group.label,
                    Markup("").join(
                        Markup('<option value="{}">{}</option>').format(office.id, office.name)
                        for office in group.offices
                    ),
                )
                for group in self.excluding(office_id)
            )
        return self._options[key]


# Reloaded when an office changes (app.platform.cache); the label of offices without a directorate
# is translated when the copy is built (the agents' screens are in French only).
TRANSFER_DIRECTORY: VersionedCache[TransferDirectory] = VersionedCache(
    "transfer-offices", Office, OfficeKind
)


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
    office_options: Markup
    viewers: list[presence.Viewer]
    last_message_id: int
    topic_label: str = ""
    tax_matter_label: str = ""
    may: dict[str, bool] = field(default_factory=dict)
    # The office routing says is competent, preselected in the transfer form (not this one).
    competent_office_id: int | None = None
    tags: list[Tag] = field(default_factory=list)
    usable_tags: list[organise.TagChoice] = field(default_factory=list)
    links: list[organise.LinkedCase] = field(default_factory=list)


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
        elif event.kind in REASON_EVENTS and data.get("reason"):
            details.append(_("Motif : %(reason)s", reason=data["reason"]))
        elif event.kind in (EventKind.TAGGED, EventKind.UNTAGGED) and data.get("tag"):
            details.append(_("« %(tag)s »", tag=data["tag"]))
        elif event.kind is EventKind.LINKED and data.get("other"):
            details.append(_("Avec la demande %(reference)s", reference=data["other"]))
        elif event.kind is EventKind.MERGED and data.get("into"):
            details.append(_("Fusionnée dans la demande %(reference)s", reference=data["into"]))
        elif event.kind is EventKind.MERGED and data.get("duplicate"):
            details.append(
                _("La demande %(reference)s y a été fusionnée", reference=data["duplicate"])
            )
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
                # Many-to-one: joined into the one query (a query less each, and its ORM work).
                joinedload(Message.author_agent),
                joinedload(Message.author_office),
                selectinload(Message.attachments),
            )
            .order_by(Message.created_at, Message.id)
        )
    )
    events = list(
        db.session.scalars(
            select(Event)
            .where(Event.case_id == case.id)
            .options(joinedload(Event.actor_agent))
            .order_by(Event.created_at, Event.id)
        )
    )
    transfers = list(
        db.session.scalars(
            select(Transfer)
            .where(Transfer.case_id == case.id)
            .options(
                joinedload(Transfer.from_office),
                joinedload(Transfer.to_office),
                joinedload(Transfer.agent),
                joinedload(Transfer.acknowledged_by),
            )
            .order_by(Transfer.created_at, Transfer.id)
        )
    )
    may = {action: access.may(agent, action, case) for action in access.ACTIONS}
    templates = [
        FilledTemplate.of(t, case)
        for t in db.session.scalars(
            select(ReplyTemplate)
            .where(directory_access.templates_usable_by(agent))
            .order_by(ReplyTemplate.title, ReplyTemplate.id)
        )
    ]
    assignable: list[Agent] = []
    if may["assign"]:
        assignable = list(
            db.session.scalars(
                select(Agent)
                .where(directory_access.agents_assignable_by(agent))
                .order_by(Agent.last_name, Agent.first_name)
            )
        )
    office_groups: list[OfficeGroup] = []
    office_options = Markup("")
    competent_office_id: int | None = None
    if may["transfer"]:
        directory = transfer_directory()
        office_groups = directory.excluding(case.office_id)
        office_options = directory.options(case.office_id)
        competent_office_id = _competent_elsewhere(case)
    viewers = presence.mark(case.id, agent.id, agent.full_name)
    tags = organise.tags_of([case.id])[case.id]
    tag_ids = {tag.id for tag in tags}
    last_message_id = max((message.id for message in messages), default=0)
    lists = references()
    return CasePage(
        case=case,
        messages=messages,
        history=_history(events, transfers),
        transfers=transfers,
        templates=templates,
        assignable=assignable,
        office_groups=office_groups,
        office_options=office_options,
        viewers=viewers,
        last_message_id=last_message_id,
        topic_label=lists.topic_labels.get(case.topic_id or 0, ""),
        tax_matter_label=lists.tax_matter_labels.get(case.tax_matter_id or 0, ""),
        may=may,
        competent_office_id=competent_office_id,
        tags=tags,
        usable_tags=[tag for tag in organise.usable_tags(agent) if tag.id not in tag_ids],
        links=organise.linked_cases([case.id])[case.id],
    )


def _competent_elsewhere(case: Case) -> int | None:
    """The competent office for the case (routing: its topic and tax matter, the taxpayer's
    commune) when it is not the office holding it; None for an unidentified person."""
    if case.taxpayer is None:
        return None
    office_id = routing.competent_office_id_for(
        taxpayer=case.taxpayer,
        topic_id=case.topic_id,
        tax_matter_id=case.tax_matter_id,
    )
    return office_id if office_id != case.office_id else None


def _load_transfer_directory() -> TransferDirectory:
    parent = aliased(Office)
    rows = db.session.execute(
        select(Office.id, Office.name, parent.name.label("parent_name"))
        .outerjoin(parent, parent.id == Office.parent_id)
        .where(Office.active.is_(True), kinds.receiving_transfers())
        .order_by(Office.name, Office.id)
    ).all()
    groups: dict[str, list[TargetOffice]] = defaultdict(list)
    for row in rows:
        groups[row.parent_name or _("Autres services")].append(TargetOffice(row.id, row.name))
    return TransferDirectory(
        groups=tuple(OfficeGroup(label, tuple(groups[label])) for label in sorted(groups))
    )


def transfer_directory() -> TransferDirectory:
    return TRANSFER_DIRECTORY.get(_load_transfer_directory)


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
