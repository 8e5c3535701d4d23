"""What a case's page shows: the case, its thread, history, transfers and the choices its
forms offer. A fixed number of queries whatever the length of the thread."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.orm import aliased

from app.cases import access, organise, presence, routing
from app.cases.guidance import fill_template
from app.directory import access as directory_access
from app.directory import kinds
from app.platform.cache import VersionedCache, references
from models import (
    Agent,
    Attachment,
    AuthorKind,
    Case,
    CaseStatus,
    Event,
    EventKind,
    Message,
    Office,
    OfficeKind,
    ReplyTemplate,
    TemplateAction,
    Transfer,
    db,
)
from models.agent import joined_name_of as _name
from views.agent import reading

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
    def of(cls, template: ReplyTemplate | TemplateRow, case: Case) -> FilledTemplate:
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


@dataclass(frozen=True, slots=True)
class ThreadAttachment:
    id: int
    filename: str
    size: int


@dataclass(slots=True)
class ThreadMessage:
    """A message as the thread shows it, from its columns (no ORM object)."""

    id: int
    internal: bool
    requests_information: bool
    from_agent: bool
    author_name: str | None  # the agent who wrote it (None: not known any more)
    author_office: str | None  # the office they wrote from
    created_at: datetime
    read_at: datetime | None
    body: str
    attachments: list[ThreadAttachment]


@dataclass(frozen=True, slots=True)
class HistoryLine:
    created_at: datetime
    label: str
    actor: str | None  # the agent's name
    by_taxpayer: bool
    details: list[str]


@dataclass(frozen=True, slots=True)
class TransferLine:
    source: str
    target: str
    created_at: datetime
    agent: str | None
    reason: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None


@dataclass
class CasePage:
    case: Case
    messages: list[ThreadMessage]
    history: list[HistoryLine]
    transfers: list[TransferLine]
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
    tags: list[organise.TagChoice] = field(default_factory=list)
    usable_tags: list[organise.TagChoice] = field(default_factory=list)
    links: list[organise.LinkedCase] = field(default_factory=list)


def _detail_lines(
    kind: EventKind, data: dict[str, Any], offices: dict[int, str], statuses: dict[str, str]
) -> list[str]:
    """What an event of the history says besides its label."""
    details: list[str] = []
    if kind is EventKind.TRANSFERRED:
        source = offices.get(data.get("from_office_id") or 0, "")
        target = data.get("to_office") or offices.get(data.get("to_office_id") or 0, "")
        details.append(_("De %(source)s vers %(target)s", source=source, target=target))
        if data.get("reason"):
            details.append(_("Motif : %(reason)s", reason=data["reason"]))
    elif kind is EventKind.ASSIGNED:
        if data.get("assignee"):
            details.append(_("Attribuée à %(name)s", name=data["assignee"]))
        else:
            details.append(_("Plus attribuée à personne"))
    elif kind is EventKind.CLOSED and data.get("outcome"):
        details.append(_("Issue : %(outcome)s", outcome=data["outcome"]))
    elif kind in REASON_EVENTS and data.get("reason"):
        details.append(_("Motif : %(reason)s", reason=data["reason"]))
    elif kind in (EventKind.TAGGED, EventKind.UNTAGGED) and data.get("tag"):
        details.append(_("« %(tag)s »", tag=data["tag"]))
    elif kind is EventKind.LINKED and data.get("other"):
        details.append(_("Avec la demande %(reference)s", reference=data["other"]))
    elif kind is EventKind.MERGED and data.get("into"):
        details.append(_("Fusionnée dans la demande %(reference)s", reference=data["into"]))
    elif kind is EventKind.MERGED and data.get("duplicate"):
        details.append(_("La demande %(reference)s y a été fusionnée", reference=data["duplicate"]))
    elif kind is EventKind.STATUS_CHANGED:
        details.append(
            _(
                "%(old)s → %(new)s",
                old=statuses.get(data.get("old", ""), ""),
                new=statuses.get(data.get("new", ""), ""),
            )
        )
    return details


# --- the thread's statements (columns only; built once, the case's id a parameter) -----------

_CASE_ID = bindparam("case_id", type_=Integer)
_AUTHOR = aliased(Agent)
_ACTOR = aliased(Agent)
_SENDER = aliased(Agent)
_ACKNOWLEDGER = aliased(Agent)

# The messages with their files, oldest first: a row per message and file.
MESSAGES = (
    select(
        Message.id,
        Message.author_kind,
        Message.internal,
        Message.requests_information,
        _AUTHOR.first_name,
        _AUTHOR.last_name,
        Message.author_office_id,
        Message.created_at,
        Message.read_at,
        Message.body,
        Attachment.id,
        Attachment.filename,
        Attachment.size,
    )
    .outerjoin(_AUTHOR, _AUTHOR.id == Message.author_agent_id)
    .outerjoin(Attachment, Attachment.message_id == Message.id)
    .where(Message.case_id == _CASE_ID)
    .order_by(Message.created_at, Message.id, Attachment.id)
)
EVENTS = (
    select(
        Event.kind,
        Event.created_at,
        Event.data,
        Event.actor_agent_id,
        _ACTOR.first_name,
        _ACTOR.last_name,
        Event.actor_taxpayer_id,
    )
    .outerjoin(_ACTOR, _ACTOR.id == Event.actor_agent_id)
    .where(Event.case_id == _CASE_ID)
    .order_by(Event.created_at, Event.id)
)
TRANSFERS = (
    select(
        Transfer.from_office_id,
        Transfer.to_office_id,
        Transfer.created_at,
        _SENDER.first_name,
        _SENDER.last_name,
        Transfer.reason,
        Transfer.acknowledged_at,
        _ACKNOWLEDGER.first_name,
        _ACKNOWLEDGER.last_name,
    )
    .outerjoin(_SENDER, _SENDER.id == Transfer.agent_id)
    .outerjoin(_ACKNOWLEDGER, _ACKNOWLEDGER.id == Transfer.acknowledged_by_id)
    .where(Transfer.case_id == _CASE_ID)
    .order_by(Transfer.created_at, Transfer.id)
)


def _messages(case_id: int, office_names: dict[int, str]) -> list[ThreadMessage]:
    messages: list[ThreadMessage] = []
    last: ThreadMessage | None = None
    for (
        message_id,
        author_kind,
        internal,
        requests_information,
        first_name,
        last_name,
        author_office_id,
        created_at,
        read_at,
        body,
        attachment_id,
        filename,
        size,
    ) in reading.read_with(MESSAGES, case_id=case_id):
        if last is None or last.id != message_id:
            last = ThreadMessage(
                id=message_id,
                internal=internal,
                requests_information=requests_information,
                from_agent=author_kind is AuthorKind.AGENT,
                author_name=_name(first_name, last_name),
                author_office=office_names.get(author_office_id)
                if author_office_id is not None
                else None,
                created_at=created_at,
                read_at=read_at,
                body=body,
                attachments=[],
            )
            messages.append(last)
        if attachment_id is not None:
            last.attachments.append(ThreadAttachment(attachment_id, filename, size))
    return messages


def _history(case_id: int, office_names: dict[int, str]) -> list[HistoryLine]:
    statuses = {status.value: str(status.label) for status in CaseStatus}
    return [
        HistoryLine(
            created_at=created_at,
            label=str(kind.label),
            actor=_name(first_name, last_name) if actor_id is not None else None,
            by_taxpayer=actor_taxpayer_id is not None,
            details=_detail_lines(kind, data or {}, office_names, statuses),
        )
        for (
            kind,
            created_at,
            data,
            actor_id,
            first_name,
            last_name,
            actor_taxpayer_id,
        ) in reading.read_with(EVENTS, case_id=case_id)
    ]


def _transfers(case_id: int, office_names: dict[int, str]) -> list[TransferLine]:
    return [
        TransferLine(
            source=office_names.get(from_id, ""),
            target=office_names.get(to_id, ""),
            created_at=created_at,
            agent=_name(first_name, last_name),
            reason=reason,
            acknowledged_at=acknowledged_at,
            acknowledged_by=_name(ack_first_name, ack_last_name),
        )
        for (
            from_id,
            to_id,
            created_at,
            first_name,
            last_name,
            reason,
            acknowledged_at,
            ack_first_name,
            ack_last_name,
        ) in reading.read_with(TRANSFERS, case_id=case_id)
    ]


@dataclass(frozen=True, slots=True)
class TemplateRow:
    """A reply template's columns (what ``FilledTemplate.of`` reads)."""

    id: int
    title: str
    body: str
    action: TemplateAction | None
    closing_outcome_id: int | None


# The reply templates an agent may use, per process, reloaded when a template changes. Kept by
# office with the access clause they were read with (``templates_usable_by``, asked at every
# request): a different clause reads them again.
REPLY_TEMPLATES: VersionedCache[dict[int, tuple[Any, tuple[TemplateRow, ...]]]] = VersionedCache(
    "reply-templates", ReplyTemplate
)


def usable_templates(agent: Any) -> tuple[TemplateRow, ...]:
    usable = directory_access.templates_usable_by(agent)
    copies = REPLY_TEMPLATES.get(dict)
    found = copies.get(agent.office_id or 0)
    if found is not None and found[0].compare(usable):
        return found[1]
    rows = tuple(
        TemplateRow(*row)
        for row in db.session.execute(
            select(
                ReplyTemplate.id,
                ReplyTemplate.title,
                ReplyTemplate.body,
                ReplyTemplate.action,
                ReplyTemplate.closing_outcome_id,
            )
            .where(usable)
            .order_by(ReplyTemplate.title, ReplyTemplate.id)
        )
    )
    copies[agent.office_id or 0] = (usable, rows)
    return rows


def load(agent: Any, case: Case) -> CasePage:
    """Everything the page shows, in a fixed number of queries, as columns."""
    lists = references()
    offices = lists.office_names
    messages = _messages(case.id, offices)
    may = {action: access.may(agent, action, case) for action in access.ACTIONS}
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
    tags = organise.tag_choices_of(case.id)
    tag_ids = {tag.id for tag in tags}
    return CasePage(
        case=case,
        messages=messages,
        history=_history(case.id, offices),
        transfers=_transfers(case.id, offices),
        templates=[FilledTemplate.of(t, case) for t in usable_templates(agent)],
        assignable=assignable,
        office_groups=office_groups,
        office_options=office_options,
        viewers=presence.mark(case.id, agent.id, agent.full_name),
        last_message_id=max((message.id for message in messages), default=0),
        topic_label=lists.topic_labels.get(case.topic_id or 0, ""),
        tax_matter_label=lists.tax_matter_labels.get(case.tax_matter_id or 0, ""),
        may=may,
        competent_office_id=competent_office_id,
        tags=tags,
        usable_tags=[tag for tag in organise.usable_tags(agent) if tag.id not in tag_ids],
        links=organise.links_of(case.id),
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
