"""The domain operations: every write of a case goes through one of these functions.

Each one checks what it is given, changes the rows, appends the event, queues the e-mail alert and
flushes. None of them commits: the request, job or CLI command that calls it commits once, and the
alert job is queued only after that commit (``app.platform.queue.enqueue_after_commit``).

Errors are :class:`OperationError` with the French message to show; nothing is written when one is
raised (the caller rolls back).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.cases import access, guidance, notices, outcomes, routing
from app.cases.attachments import (
    AttachmentRejected,
    IncomingFile,
    StorageUnavailable,
    StoredFile,
    limits,
    store_files,
)
from app.cases.references import new_reference
from app.directory import access as directory_access
from app.directory import settings
from app.notifications.outbox import alert_new_message
from models import (
    AccessLog,
    Agent,
    Attachment,
    AuthorKind,
    Case,
    CaseStatus,
    Channel,
    Event,
    EventKind,
    Message,
    Office,
    TaxMatter,
    Taxpayer,
    Topic,
    Transfer,
    db,
    utcnow,
)

SUBJECT_MAX = 200
BODY_MAX = 20_000
REASON_MIN = 10
AGENT_CHANNELS = (Channel.PHONE, Channel.COUNTER, Channel.LETTER)


class OperationError(Exception):
    """A refusal with the French sentence to show the user."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(OperationError):
    pass


class NeedsConfirmation(OperationError):
    """A message to the taxpayer holds what the guide of good practice forbids
    (``app.cases.guidance``): nothing is sent until the agent confirms."""

    def __init__(self, warnings: list[guidance.Warning]) -> None:
        super().__init__(
            _("Vérifiez votre message avant de l'envoyer : il n'a pas été envoyé."), field="body"
        )
        self.warnings = warnings


def _check_guidance(agent: Agent, case: Case, body: str, *, confirmed: bool) -> None:
    if confirmed:
        return
    warnings = guidance.check_reply(agent, case, body)
    if warnings:
        raise NeedsConfirmation(warnings)


class StaleCase(OperationError):
    """Someone changed the case since the page was loaded: nothing was applied."""


class IntakePaused(OperationError):
    pass


# --- small helpers ---------------------------------------------------------------------------


def _record(
    kind: EventKind,
    case: Case | None,
    *,
    agent: Agent | None = None,
    taxpayer: Taxpayer | None = None,
    at: datetime | None = None,
    **data: Any,
) -> Event:
    event = Event(
        kind=kind,
        case_id=case.id if case else None,
        taxpayer_id=(case.taxpayer_id if case else None) or (taxpayer.id if taxpayer else None),
        office_id=case.office_id if case else (agent.office_id if agent else None),
        actor_agent_id=agent.id if agent else None,
        actor_taxpayer_id=taxpayer.id if taxpayer else None,
        created_at=at or utcnow(),
        data=data,
    )
    db.session.add(event)
    return event


def _changed(case: Case, now: datetime) -> None:
    """A change of state: stale forms that still hold the old version are refused."""
    case.version += 1
    case.last_activity_at = now


def _check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is None or case.version == expected_version:
        return
    last = db.session.scalar(
        select(Event)
        .where(Event.case_id == case.id)
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(1)
    )
    what = last.kind.label if last else _("modifiée")
    who = last.actor_agent.full_name if last and last.actor_agent else _("un autre agent")
    raise StaleCase(
        _(
            "Cette demande a changé depuis l'ouverture de la page (%(what)s, par %(who)s) : "
            "votre action n'a pas été appliquée. Relisez la demande puis recommencez si besoin.",
            what=str(what).lower(),
            who=who,
        )
    )


def _lock(case: Case) -> None:
    """Take the case's row lock and reread it: whoever acts on it at the same moment waits
    for this transaction, then sees what it did (no lost update, no check on stale state).
    A case the view loaded with ``access.case_for_agent(..., for_update=True)`` is already
    locked and read in this transaction: not read a second time."""
    if access.row_locked(case):
        return
    db.session.refresh(case, with_for_update=True)


def _require(agent: Agent, action: str, case: Case) -> None:
    _lock(case)
    if not access.handles_case(agent, case):
        raise NotAllowed(_("Cette demande n'est pas (ou plus) traitée par votre service."))
    if not access.may(agent, action, case):
        messages = {
            "assign": _("Seul le chef de service peut attribuer une demande."),
            "reopen": _("Cette demande est déjà ouverte."),
            "acknowledge": _("Cette transmission a déjà été prise en compte."),
            "attach_taxpayer": _("Ce contact est déjà rattaché à un usager."),
            "convert": _("Ce courriel est déjà une demande de l'espace de l'usager."),
        }
        raise NotAllowed(
            messages.get(action, _("Cette action n'est pas possible sur une demande clôturée."))
        )


def _text(value: str | None, *, field: str, label: str, maximum: int = BODY_MAX) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if not text:
        raise OperationError(_("Renseignez le champ « %(label)s ».", label=label), field=field)
    if len(text) > maximum:
        raise OperationError(
            _(
                "Le champ « %(label)s » ne peut dépasser %(n)s caractères.",
                label=label,
                n=maximum,
            ),
            field=field,
        )
    return text


def _store(files: Sequence[IncomingFile]) -> list[StoredFile]:
    try:
        return store_files(list(files))
    except AttachmentRejected as refused:
        raise OperationError(str(refused), field="files") from refused
    except StorageUnavailable as failure:
        raise OperationError(
            _(
                "Vos pièces jointes n'ont pas pu être enregistrées pour le moment : rien n'a été "
                "envoyé. Réessayez dans quelques minutes."
            ),
            field="files",
        ) from failure


def _attach(message: Message, stored: Sequence[StoredFile]) -> None:
    for item in stored:
        message.attachments.append(
            Attachment(
                filename=item.filename,
                storage_key=item.storage_key,
                content_type=item.content_type,
                size=item.size,
                sha256=item.sha256,
            )
        )


def _taxpayer_message(
    case: Case,
    body: str,
    stored: Sequence[StoredFile],
    *,
    now: datetime,
    submission_token: str | None = None,
) -> Message:
    """The taxpayer's message in the case's thread, with its files (a new case's first
    message, a reply, an e-mail received); ``submission_token``: a reply's, which makes a second
    post of the form a duplicate (a new case carries its token on the case)."""
    message = Message(
        case_id=case.id,
        office_id=case.office_id,
        author_kind=AuthorKind.TAXPAYER,
        body=body,
        created_at=now,
        submission_token=submission_token,
    )
    _attach(message, stored)
    db.session.add(message)
    return message


def _due(topic: Topic, received_at: datetime) -> datetime:
    days = topic.target_days or current_app.config["DEFAULT_DUE_DAYS"]
    return received_at + timedelta(days=days)


def _check_classification(
    *,
    topic: Topic | None,
    tax_matter: TaxMatter | None,
    tax_year: int | None,
    taxpayer_kind: Any,
    now: datetime,
) -> None:
    if topic is None or not topic.active:
        raise OperationError(_("Choisissez un motif dans la liste."), field="topic")
    if None not in (topic.taxpayer_kind, taxpayer_kind) and topic.taxpayer_kind != taxpayer_kind:
        raise OperationError(_("Ce motif ne concerne pas votre espace."), field="topic")
    if tax_matter is not None and not tax_matter.active:
        raise OperationError(_("Choisissez un impôt dans la liste."), field="tax_matter")
    if tax_year is not None and not (now.year - 10 <= tax_year <= now.year):
        raise OperationError(
            _(
                "L'année doit être comprise entre %(first)s et %(last)s.",
                first=now.year - 10,
                last=now.year,
            ),
            field="tax_year",
        )


# --- the taxpayer's side -----------------------------------------------------------------------


def submit_case(
    *,
    taxpayer: Taxpayer,
    topic: Topic | None,
    tax_matter: TaxMatter | None,
    tax_year: int | None,
    subject: str,
    body: str,
    files: Sequence[IncomingFile] = (),
    submission_token: str | None = None,
    linked_case: Case | None = None,
) -> Case:
    """A taxpayer's new online case, routed to the competent office.

    The same ``submission_token`` twice (a double click, a form posted again) gives back the
    case made the first time instead of a second one.
    """
    if submission_token:
        existing = db.session.scalar(
            select(Case).where(
                Case.submission_token == submission_token, Case.taxpayer_id == taxpayer.id
            )
        )
        if existing is not None:
            return existing
    if not settings.intake().accepts_new_cases:
        raise IntakePaused(_("Le dépôt de nouvelles demandes est momentanément suspendu."))
    now = utcnow()
    _check_classification(
        topic=topic,
        tax_matter=tax_matter,
        tax_year=tax_year,
        taxpayer_kind=taxpayer.kind,
        now=now,
    )
    assert topic is not None
    subject = _text(subject, field="subject", label=_("Objet"), maximum=SUBJECT_MAX)
    body = _text(body, field="body", label=_("Message"))
    if linked_case is not None and linked_case.taxpayer_id != taxpayer.id:
        linked_case = None
    office = routing.competent_office(taxpayer=taxpayer, topic=topic, tax_matter=tax_matter)
    stored = _store(files)
    case = Case(
        reference=new_reference(now),
        taxpayer_id=taxpayer.id,
        channel=Channel.ONLINE,
        topic_id=topic.id,
        tax_matter_id=tax_matter.id if tax_matter else None,
        tax_year=tax_year,
        subject=subject,
        status=CaseStatus.NEW,
        office_id=office.id,
        received_at=now,
        last_activity_at=now,
        due_at=_due(topic, now),
        linked_case_id=linked_case.id if linked_case else None,
        visible_to_taxpayer=True,
        unread_by_office=True,
        submission_token=submission_token,
        version=1,
    )
    db.session.add(case)
    db.session.flush()
    _taxpayer_message(case, body, stored, now=now)
    _record(
        EventKind.RECEIVED,
        case,
        taxpayer=taxpayer,
        at=now,
        channel=Channel.ONLINE.value,
        office=office.code,
        linked_reference=linked_case.reference if linked_case else None,
    )
    notices.new_case(case)
    db.session.flush()
    return case


def reply_as_taxpayer(
    *,
    taxpayer: Taxpayer,
    case: Case,
    body: str,
    files: Sequence[IncomingFile] = (),
    submission_token: str | None = None,
) -> Message:
    """The taxpayer answers in the thread; a closed case reopens within the period."""
    if submission_token:
        existing = db.session.scalar(
            select(Message).where(
                Message.submission_token == submission_token, Message.case_id == case.id
            )
        )
        if existing is not None:
            return existing
    if case.taxpayer_id != taxpayer.id:
        raise NotAllowed(_("Cette demande n'existe pas."))
    _lock(case)
    if not settings.intake().accepts_replies:
        raise IntakePaused(_("L'envoi de messages est momentanément suspendu."))
    now = utcnow()
    body = _text(body, field="body", label=_("Message"))
    reopened = False
    if not case.is_open:
        if not may_taxpayer_reopen(case, now=now):
            raise OperationError(
                _(
                    "Cette demande est clôturée depuis plus de %(n)s jours : écrivez une "
                    "nouvelle demande, elle sera liée à celle-ci.",
                    n=settings.messaging().reopen_period_days,
                )
            )
        reopened = True
    stored = _store(files)
    message = _taxpayer_message(case, body, stored, now=now, submission_token=submission_token)
    if reopened:
        case.status = CaseStatus.IN_PROGRESS
        case.closed_at = None
        case.outcome = None
        _record(EventKind.REOPENED, case, taxpayer=taxpayer, at=now, by="taxpayer")
        _changed(case, now)
    elif case.status is CaseStatus.AWAITING_TAXPAYER:
        case.status = CaseStatus.IN_PROGRESS
        _record(
            EventKind.STATUS_CHANGED,
            case,
            taxpayer=taxpayer,
            at=now,
            old=CaseStatus.AWAITING_TAXPAYER.value,
            new=CaseStatus.IN_PROGRESS.value,
        )
        _changed(case, now)
    case.last_activity_at = now
    case.unread_by_office = True
    _record(EventKind.TAXPAYER_REPLIED, case, taxpayer=taxpayer, at=now)
    notices.taxpayer_replied(case)
    db.session.flush()
    return message


def may_taxpayer_reopen(case: Case, *, now: datetime | None = None) -> bool:
    if case.is_open:
        return True
    if case.closed_at is None or case.channel is not Channel.ONLINE or case.withdrawn_at:
        return False
    period = timedelta(days=settings.messaging().reopen_period_days)
    return (now or utcnow()) <= case.closed_at + period


def withdraw_case(*, taxpayer: Taxpayer, case: Case, reason: str | None = None) -> None:
    """The taxpayer withdraws a case no agent has answered yet: it is kept, closed and marked
    withdrawn (agents see it, steering counts it), with a ``WITHDRAWN`` event."""
    _lock(case)
    if not access.taxpayer_may_withdraw(taxpayer, case):
        raise NotAllowed(
            _(
                "Cette demande ne peut plus être retirée : un agent y a déjà répondu ou elle "
                "est close."
            )
        )
    now = utcnow()
    text = (reason or "").replace("\r\n", "\n").strip()
    if len(text) > 2000:
        raise OperationError(
            _("Le motif ne peut dépasser %(n)s caractères.", n=2000), field="reason"
        )
    case.status = CaseStatus.CLOSED
    case.closed_at = now
    case.withdrawn_at = now
    case.outcome = _("Retirée par l'usager")
    case.awaiting_acknowledgement = False
    case.unread_by_office = True
    _record(EventKind.WITHDRAWN, case, taxpayer=taxpayer, at=now, reason=text)
    _changed(case, now)
    db.session.flush()


def mark_read_by_taxpayer(case: Case) -> None:
    if not case.unread_by_taxpayer:
        return
    now = utcnow()
    case.unread_by_taxpayer = False
    for message in case.messages:
        if message.author_kind is AuthorKind.AGENT and not message.internal and not message.read_at:
            message.read_at = now


# --- the agents' side ------------------------------------------------------------------------


def mark_read_by_office(case: Case) -> None:
    case.unread_by_office = False


def take_case(*, agent: Agent, case: Case, expected_version: int | None = None) -> None:
    _require(agent, "take", case)
    _check_version(case, expected_version)
    if case.assignee_id == agent.id:
        return
    if case.assignee_id is not None and not directory_access.is_office_manager(agent):
        raise NotAllowed(
            _(
                "Cette demande est déjà prise en charge par %(name)s.",
                name=case.assignee.full_name if case.assignee else "",
            )
        )
    _assign(case, agent, by=agent)


def assign_case(
    *, agent: Agent, case: Case, assignee: Agent | None, expected_version: int | None = None
) -> None:
    _require(agent, "assign", case)
    _check_version(case, expected_version)
    if assignee is not None and not access.may_be_assigned(assignee, case):
        raise OperationError(_("Choisissez un agent du service."), field="assignee")
    if assignee is not None and assignee.id == case.assignee_id:
        return
    _assign(case, assignee, by=agent)


def _assign(case: Case, assignee: Agent | None, *, by: Agent) -> None:
    now = utcnow()
    case.assignee_id = assignee.id if assignee else None
    if assignee is not None and case.status is CaseStatus.NEW:
        case.status = CaseStatus.IN_PROGRESS
    _record(
        EventKind.ASSIGNED,
        case,
        agent=by,
        at=now,
        assignee_id=assignee.id if assignee else None,
        assignee=assignee.full_name if assignee else None,
    )
    _changed(case, now)
    db.session.flush()


def _agent_message(
    *,
    agent: Agent,
    case: Case,
    body: str,
    files: Sequence[IncomingFile],
    internal: bool,
    requests_information: bool = False,
    now: datetime,
    submission_token: str | None = None,
    kept: Sequence[StoredFile] = (),
) -> Message:
    """``kept``: files already checked and stored, held while a refused form was shown again."""
    max_count, _max_bytes = limits()
    if len([f for f in files if f.filename]) + len(kept) > max_count:
        raise OperationError(
            _("Vous pouvez joindre au plus %(n)s fichiers à un message.", n=max_count),
            field="files",
        )
    stored = _store(files) + list(kept)
    message = Message(
        case_id=case.id,
        office_id=case.office_id,
        author_kind=AuthorKind.AGENT,
        author_agent_id=agent.id,
        author_office_id=case.office_id,
        body=body,
        internal=internal,
        requests_information=requests_information,
        created_at=now,
        submission_token=submission_token or None,
    )
    _attach(message, stored)
    db.session.add(message)
    return message


def _reopen_for_agent(agent: Agent, case: Case, now: datetime) -> None:
    case.status = CaseStatus.IN_PROGRESS
    case.closed_at = None
    case.withdrawn_at = None
    case.outcome = None
    _record(EventKind.REOPENED, case, agent=agent, at=now, by="agent")
    _changed(case, now)


def reply_to_case(
    *,
    agent: Agent,
    case: Case,
    body: str,
    files: Sequence[IncomingFile] = (),
    close: bool = False,
    outcome: str | None = None,
    submission_token: str | None = None,
    outcome_id: int | None = None,
    outcome_other: str | None = None,
    kept: Sequence[StoredFile] = (),
    warnings_confirmed: bool = False,
    by_email: bool = False,
) -> Message:
    """A public answer; the taxpayer gets a no-content e-mail alert (``by_email``: the answer
    to an e-mail goes out by e-mail instead, app.mailbox.operations, and no alert). Two agents
    answering at once both keep their text: answers are appended, never refused as stale. The same
    ``submission_token`` twice fails the flush (a unique index): the caller rolls back.

    ``close``: answer and close, with an outcome as for ``close_case`` (checked before anything
    is stored). A text the guide's check warns about raises ``NeedsConfirmation`` unless
    ``warnings_confirmed``."""
    _require(agent, "reply", case)
    now = utcnow()
    body = _text(body, field="body", label=_("Réponse"))
    _check_guidance(agent, case, body, confirmed=warnings_confirmed)
    outcome_text, outcome_code = (
        _outcome(case, outcome or _("Réponse apportée"), outcome_id, outcome_other)
        if close
        else ("", None)
    )
    if not case.is_open:
        _reopen_for_agent(agent, case, now)
    message = _agent_message(
        agent=agent,
        case=case,
        body=body,
        files=files,
        internal=False,
        now=now,
        submission_token=submission_token,
        kept=kept,
    )
    if case.first_answer_at is None:
        case.first_answer_at = now
    if case.assignee_id is None:
        case.assignee_id = agent.id
    old_status = case.status
    if by_email:
        _record(EventKind.ANSWERED, case, agent=agent, at=now, by="email")
    else:
        _record(EventKind.ANSWERED, case, agent=agent, at=now)
    if close:
        _close(agent, case, outcome_text, now, code=outcome_code)
    elif old_status is not CaseStatus.IN_PROGRESS:
        case.status = CaseStatus.IN_PROGRESS
        _changed(case, now)
    case.last_activity_at = now
    case.unread_by_taxpayer = True
    case.unread_by_office = False
    db.session.flush()
    if not by_email:
        alert_new_message(case, message)
    return message


def request_information(
    *,
    agent: Agent,
    case: Case,
    body: str,
    files: Sequence[IncomingFile] = (),
    submission_token: str | None = None,
    kept: Sequence[StoredFile] = (),
    warnings_confirmed: bool = False,
) -> Message:
    """Ask the taxpayer for more: the case waits for them (status AWAITING_TAXPAYER). Checked
    like an answer (``warnings_confirmed``)."""
    _require(agent, "request_information", case)
    now = utcnow()
    body = _text(body, field="body", label=_("Demande de précision"))
    _check_guidance(agent, case, body, confirmed=warnings_confirmed)
    message = _agent_message(
        agent=agent,
        case=case,
        body=body,
        files=files,
        internal=False,
        requests_information=True,
        now=now,
        submission_token=submission_token,
        kept=kept,
    )
    if case.first_answer_at is None:
        case.first_answer_at = now
    if case.assignee_id is None:
        case.assignee_id = agent.id
    case.status = CaseStatus.AWAITING_TAXPAYER
    case.unread_by_taxpayer = True
    case.unread_by_office = False
    _record(EventKind.INFORMATION_REQUESTED, case, agent=agent, at=now)
    _changed(case, now)
    db.session.flush()
    alert_new_message(case, message)
    return message


def add_note(
    *,
    agent: Agent,
    case: Case,
    body: str,
    files: Sequence[IncomingFile] = (),
    submission_token: str | None = None,
) -> Message:
    """An internal note: only agents see it, the taxpayer is not told."""
    _require(agent, "note", case)
    now = utcnow()
    body = _text(body, field="body", label=_("Note interne"))
    message = _agent_message(
        agent=agent,
        case=case,
        body=body,
        files=files,
        internal=True,
        now=now,
        submission_token=submission_token,
    )
    _record(EventKind.NOTE_ADDED, case, agent=agent, at=now)
    db.session.flush()
    return message


def transfer_case(
    *,
    agent: Agent,
    case: Case,
    to_office: Office | None,
    reason: str,
    expected_version: int | None = None,
) -> Transfer:
    """Forward to the competent office with a mandatory reason; thread and history go along."""
    _require(agent, "transfer", case)
    _check_version(case, expected_version)
    to_office, reason = _check_destination(
        to_office,
        reason,
        current_office_id=case.office_id,
        same_office=_("La demande est déjà dans ce service : choisissez un autre service."),
    )
    return _transfer(agent, case, to_office, reason, utcnow())


def _check_destination(
    to_office: Office | None, reason: str | None, *, current_office_id: int | None, same_office: str
) -> tuple[Office, str]:
    """The office a case is forwarded to, and the mandatory reason, both checked."""
    if to_office is None or not to_office.active or not to_office.kind.receives_transfers:
        raise OperationError(_("Choisissez le service destinataire."), field="to_office")
    if to_office.id == current_office_id:
        raise OperationError(same_office, field="to_office")
    text = _text(reason, field="reason", label=_("Motif de la transmission"), maximum=2000)
    if len(text) < REASON_MIN:
        raise OperationError(
            _("Expliquez le motif de la transmission en une phrase au moins."), field="reason"
        )
    return to_office, text


def _transfer(agent: Agent, case: Case, to_office: Office, reason: str, now: datetime) -> Transfer:
    from_office_id = case.office_id
    transfer = Transfer(
        case_id=case.id,
        from_office_id=from_office_id,
        to_office_id=to_office.id,
        reason=reason,
        agent_id=agent.id,
        created_at=now,
    )
    db.session.add(transfer)
    _record(
        EventKind.TRANSFERRED,
        case,
        agent=agent,
        at=now,
        from_office_id=from_office_id,
        to_office_id=to_office.id,
        to_office=to_office.name,
        reason=reason,
    )
    case.office_id = to_office.id
    # The thread moves with the request: its messages' office scopes the full-text search.
    db.session.execute(
        update(Message)
        .where(Message.case_id == case.id)
        .values(office_id=to_office.id)
        .execution_options(synchronize_session="fetch")
    )
    case.assignee_id = None
    case.awaiting_acknowledgement = True
    case.unread_by_office = True
    _changed(case, now)
    db.session.flush()
    notices.forwarded(case, to_office_id=to_office.id, by_agent_id=agent.id)
    return transfer


def acknowledge_transfer(*, agent: Agent, case: Case) -> Transfer | None:
    """The receiving office confirms it has the forwarded case."""
    _require(agent, "acknowledge", case)
    now = utcnow()
    transfer = db.session.scalar(
        select(Transfer)
        .where(
            Transfer.case_id == case.id,
            Transfer.to_office_id == case.office_id,
            Transfer.acknowledged_at.is_(None),
        )
        .order_by(Transfer.created_at.desc(), Transfer.id.desc())
        .limit(1)
    )
    if transfer is not None:
        transfer.acknowledged_at = now
        transfer.acknowledged_by_id = agent.id
    case.awaiting_acknowledgement = False
    _record(
        EventKind.TRANSFER_ACKNOWLEDGED,
        case,
        agent=agent,
        at=now,
        transfer_id=transfer.id if transfer else None,
    )
    _changed(case, now)
    db.session.flush()
    return transfer


def close_case(
    *,
    agent: Agent,
    case: Case,
    outcome: str = "",
    outcome_id: int | None = None,
    outcome_other: str | None = None,
    expected_version: int | None = None,
) -> None:
    """Close with an outcome: one of the topic's list (``outcome_id``, with the agent's words
    for "Autre"), or, for callers without the list (contacts handled on the spot), a text."""
    _require(agent, "close", case)
    _check_version(case, expected_version)
    text, code = _outcome(case, outcome, outcome_id, outcome_other)
    _close(agent, case, text, utcnow(), code=code)
    db.session.flush()


def _outcome(
    case: Case, text: str | None, outcome_id: int | None, other: str | None
) -> tuple[str, str | None]:
    if outcome_id is None and (text or "").strip():
        return _text(text, field="outcome", label=_("Issue"), maximum=255), None
    try:
        chosen, words = outcomes.resolve(case, outcome_id, other)
    except outcomes.OutcomeRefused as refused:
        raise OperationError(str(refused), field="outcome") from refused
    return words, chosen.code


def _close(
    agent: Agent, case: Case, outcome: str, now: datetime, *, code: str | None = None
) -> None:
    case.status = CaseStatus.CLOSED
    case.closed_at = now
    case.outcome = outcome
    case.awaiting_acknowledgement = False
    data: dict[str, Any] = {"outcome": outcome}
    if code:
        data["outcome_code"] = code
    _record(EventKind.CLOSED, case, agent=agent, at=now, **data)
    _changed(case, now)


def reopen_case(
    *, agent: Agent, case: Case, reason: str | None = None, expected_version: int | None = None
) -> None:
    _require(agent, "reopen", case)
    _check_version(case, expected_version)
    now = utcnow()
    case.status = CaseStatus.IN_PROGRESS
    case.closed_at = None
    case.withdrawn_at = None
    case.outcome = None
    _record(EventKind.REOPENED, case, agent=agent, at=now, by="agent", reason=reason or "")
    _changed(case, now)
    db.session.flush()


# --- contacts recorded by agents (phone, counter, letter) ------------------------------------

HANDLED = "handled"
KEPT = "kept"
FORWARDED = "forwarded"
DISPOSITIONS = (HANDLED, KEPT, FORWARDED)


def record_contact(
    *,
    agent: Agent,
    channel: Channel,
    taxpayer: Taxpayer | None,
    declared_identity: str | None = None,
    topic: Topic | None,
    tax_matter: TaxMatter | None = None,
    tax_year: int | None = None,
    subject: str,
    summary: str,
    disposition: str,
    to_office: Office | None = None,
    reason: str | None = None,
    visible_to_taxpayer: bool | None,
    submission_token: str | None = None,
) -> Case:
    """A phone call, a counter visit or a letter, recorded by the agent who took it.

    ``disposition``: handled on the spot (recorded closed), kept in the agent's office as a
    case to handle, or forwarded to the competent office with a mandatory reason.
    ``visible_to_taxpayer`` has no default: the agent says each time whether the taxpayer sees
    the contact (and its summary) in their space.
    """
    if not directory_access.handles_cases(agent):
        raise NotAllowed(_("Seul un agent d'un service peut enregistrer un contact."))
    if submission_token:
        existing = db.session.scalar(select(Case).where(Case.submission_token == submission_token))
        if existing is not None and existing.created_by_id == agent.id:
            return existing
    if channel not in AGENT_CHANNELS:
        raise OperationError(_("Choisissez le canal du contact."), field="channel")
    if disposition not in DISPOSITIONS:
        raise OperationError(_("Choisissez la suite donnée au contact."), field="disposition")
    if visible_to_taxpayer is None:
        raise OperationError(
            _("Indiquez si l'usager verra ce contact dans son espace."),
            field="visible_to_taxpayer",
        )
    now = utcnow()
    identity = (declared_identity or "").strip()
    if taxpayer is None and not identity:
        raise OperationError(
            _("Choisissez l'usager, ou saisissez l'identité qu'il a déclarée."),
            field="taxpayer",
        )
    _check_classification(
        topic=topic,
        tax_matter=tax_matter,
        tax_year=tax_year,
        taxpayer_kind=taxpayer.kind if taxpayer else None,
        now=now,
    )
    assert topic is not None
    subject = _text(subject, field="subject", label=_("Objet"), maximum=SUBJECT_MAX)
    summary = _text(summary, field="summary", label=_("Résumé de l'échange"))
    if disposition == FORWARDED:
        to_office, reason = _check_destination(
            to_office,
            reason,
            current_office_id=agent.office_id,
            same_office=_("Pour garder la demande dans votre service, choisissez « À traiter »."),
        )
    case = Case(
        reference=new_reference(now),
        taxpayer_id=taxpayer.id if taxpayer else None,
        declared_identity=identity or None,
        channel=channel,
        topic_id=topic.id,
        tax_matter_id=tax_matter.id if tax_matter else None,
        tax_year=tax_year,
        subject=subject,
        status=CaseStatus.NEW,
        office_id=agent.office_id,
        recording_office_id=agent.office_id,
        created_by_id=agent.id,
        received_at=now,
        last_activity_at=now,
        due_at=_due(topic, now),
        visible_to_taxpayer=visible_to_taxpayer,
        unread_by_office=False,
        unread_by_taxpayer=False,
        submission_token=submission_token,
        version=1,
    )
    db.session.add(case)
    db.session.flush()
    db.session.add(
        Message(
            case_id=case.id,
            office_id=case.office_id,
            author_kind=AuthorKind.AGENT,
            author_agent_id=agent.id,
            author_office_id=agent.office_id,
            body=summary,
            internal=not visible_to_taxpayer,
            created_at=now,
        )
    )
    _record(
        EventKind.CONTACT_RECORDED,
        case,
        agent=agent,
        at=now,
        channel=channel.value,
        disposition=disposition,
        declared_identity=identity or None,
    )
    if disposition == HANDLED:
        case.assignee_id = agent.id
        case.first_answer_at = now
        _close(agent, case, _("Traité lors du contact"), now)
    elif disposition == FORWARDED:
        assert to_office is not None and reason is not None  # checked above
        _transfer(agent, case, to_office, reason, now)
    db.session.flush()
    return case


def record_email(
    *,
    office: Office,
    taxpayer: Taxpayer | None,
    declared_identity: str | None,
    topic: Topic,
    subject: str,
    body: str,
    stored: Sequence[StoredFile],
    received_at: datetime,
) -> Case:
    """An e-mail received by an office's shared mailbox (app.mailbox.intake): a case of channel
    ``email`` in the office's inbox, the sender's text as the taxpayer's message. The taxpayer
    does not see it in their space until an agent converts it (``convert_to_request``): the
    sender of an e-mail is not proven."""
    now = utcnow()
    subject = " ".join((subject or "").split())[:SUBJECT_MAX] or _("(sans objet)")
    body = (body or "").replace("\r\n", "\n").strip() or _("(message vide)")
    if len(body) > BODY_MAX:
        body = body[: BODY_MAX - 40].rstrip() + "\n\n" + _("[… message tronqué]")
    case = Case(
        reference=new_reference(now),
        taxpayer_id=taxpayer.id if taxpayer else None,
        declared_identity=None if taxpayer else ((declared_identity or "").strip()[:255] or None),
        channel=Channel.EMAIL,
        topic_id=topic.id,
        subject=subject,
        status=CaseStatus.NEW,
        office_id=office.id,
        received_at=received_at,
        last_activity_at=now,
        due_at=_due(topic, received_at),
        visible_to_taxpayer=False,
        unread_by_office=True,
        unread_by_taxpayer=False,
        version=1,
    )
    db.session.add(case)
    db.session.flush()
    _taxpayer_message(case, body, stored, now=received_at)
    _record(
        EventKind.RECEIVED,
        case,
        at=received_at,
        channel=Channel.EMAIL.value,
        office=office.code,
        declared_identity=case.declared_identity,
    )
    notices.new_case(case)
    db.session.flush()
    return case


def add_system_note(case: Case, body: str, *, at: datetime) -> Message:
    """An internal note written by the system (what an e-mail's intake left out)."""
    message = Message(
        case_id=case.id,
        office_id=case.office_id,
        author_kind=AuthorKind.AGENT,
        author_office_id=case.office_id,
        body=body[:BODY_MAX],
        internal=True,
        created_at=at,
    )
    db.session.add(message)
    db.session.flush()
    return message


def convert_to_request(*, agent: Agent, case: Case, expected_version: int | None = None) -> None:
    """An e-mail's case, attached to its taxpayer, becomes a request of their space: they see
    it, its messages and the answers, get an alert, and carry on in the secure messaging."""
    _require(agent, "convert", case)
    _check_version(case, expected_version)
    if case.taxpayer_id is None:
        raise OperationError(
            _("Rattachez d'abord ce courriel à un usager : la demande ira dans son espace.")
        )
    now = utcnow()
    case.visible_to_taxpayer = True
    case.unread_by_taxpayer = True
    _record(EventKind.CONVERTED_TO_REQUEST, case, agent=agent, at=now)
    _changed(case, now)
    db.session.flush()
    first = db.session.scalar(
        select(Message)
        .where(Message.case_id == case.id, Message.internal.is_(False))
        .order_by(Message.created_at, Message.id)
        .limit(1)
    )
    if first is not None:
        alert_new_message(case, first)


def attach_to_taxpayer(*, agent: Agent, case: Case, taxpayer: Taxpayer) -> None:
    """A contact recorded for someone not yet identified is attached to their file."""
    _require(agent, "attach_taxpayer", case)
    now = utcnow()
    case.taxpayer_id = taxpayer.id
    _record(
        EventKind.ATTACHED_TO_TAXPAYER,
        case,
        agent=agent,
        at=now,
        declared_identity=case.declared_identity,
    )
    _changed(case, now)
    db.session.flush()


# --- the read log ------------------------------------------------------------------------------


def log_access(
    *,
    agent: Agent,
    object_kind: str,
    object_id: int | None,
    taxpayer_id: int | None,
    case_id: int | None = None,
    reason: str | None = None,
) -> AccessLog:
    """Write who consulted what, when and why (the legal basis requires it)."""
    row = AccessLog(
        agent_id=agent.id,
        office_id=agent.office_id,
        taxpayer_id=taxpayer_id,
        case_id=case_id,
        object_kind=object_kind,
        object_id=object_id,
        reason=(reason or "")[:255] or None,
        created_at=utcnow(),
    )
    db.session.add(row)
    return row


def log_taxpayers_seen(
    *, agent: Agent, taxpayer_ids: Iterable[int | None], object_kind: str, reason: str
) -> int:
    """One read-log row per distinct taxpayer whose data a page shows (a lookup, a list of
    search results): tax secrecy traces every consultation (issue 20, finding 10)."""
    seen = sorted({taxpayer_id for taxpayer_id in taxpayer_ids if taxpayer_id is not None})
    for taxpayer_id in seen:
        log_access(
            agent=agent,
            object_kind=object_kind,
            object_id=None,
            taxpayer_id=taxpayer_id,
            reason=reason,
        )
    return len(seen)
