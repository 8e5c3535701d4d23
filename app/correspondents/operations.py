"""Every write of a difficulty report: file, answer, raise, close. Each checks, changes the row,
appends an event (``office_id``: the report's directorate; ``data["report_id"]``), flushes and
never commits (decision 0007). Filing one also queues an e-mail to each correspondent of the
directorate, through the outbox: a link to the report, nothing of its content."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app.correspondents import access
from app.directory.access import is_admin
from app.notifications.outbox import public_url, queue_email
from models import (
    Agent,
    DifficultyReport,
    Event,
    EventKind,
    NotificationKind,
    Office,
    ReportStatus,
    ReportTheme,
    db,
    utcnow,
)

DESCRIPTION_MIN = 10
DESCRIPTION_MAX = 5000
ANSWER_MAX = 5000
URL_MAX = 500


class ReportError(Exception):
    """A refused write, with the French message and the field it is about."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _record(kind: EventKind, report: DifficultyReport, agent: Agent, **data: Any) -> None:
    db.session.add(
        Event(
            kind=kind,
            office_id=report.directorate_id,
            actor_agent_id=agent.id,
            created_at=utcnow(),
            data={"report_id": report.id, **data},
        )
    )


def _text(value: str | None, *, field: str, minimum: int, maximum: int, message: str) -> str:
    text = (value or "").replace("\x00", "").strip()
    if len(text) < minimum:
        raise ReportError(message, field=field)
    if len(text) > maximum:
        raise ReportError(
            _("Ce texte est trop long (%(max)s caractères au plus).", max=maximum), field=field
        )
    return text


def page_path(value: str | None) -> str:
    """Only a path of this site (``/agent/...``), never another address nor a query string:
    a query string may carry a search term such as a tax number."""
    url = (value or "").replace("\x00", "").strip()
    path = url.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/") or path.startswith("//"):
        return ""
    return path[:URL_MAX]


def file_report(
    *,
    agent: Agent,
    theme: str | None,
    description: str | None,
    page_url: str | None = None,
    reference: str | None = None,
) -> DifficultyReport:
    """An agent reports a difficulty to the correspondents of their directorate."""
    if not access.may_report(agent):
        raise ReportError(_("Seul un agent rattaché à un service peut signaler une difficulté."))
    chosen = next((item for item in ReportTheme if item.value == theme), None)
    if chosen is None:
        raise ReportError(_("Choisissez le thème de la difficulté."), field="theme")
    text = _text(
        description,
        field="description",
        minimum=DESCRIPTION_MIN,
        maximum=DESCRIPTION_MAX,
        message=_("Décrivez la difficulté en une phrase au moins."),
    )
    case_id = None
    if (reference or "").strip():
        case = access.case_by_reference(agent, reference or "")
        if case is None:
            raise ReportError(
                _("Aucune demande de votre service ne porte cette référence."), field="reference"
            )
        case_id = case.id
    directorate = access.directorate_of(agent.office)
    report = DifficultyReport(
        reporter_id=agent.id,
        office_id=agent.office_id,
        directorate_id=directorate.id if directorate is not None else None,
        theme=chosen,
        status=ReportStatus.OPEN,
        description=text,
        page_url=page_path(page_url),
        case_id=case_id,
        reported_at=utcnow(),
    )
    db.session.add(report)
    db.session.flush()
    _record(EventKind.REPORT_FILED, report, agent, theme=chosen.value)
    if directorate is not None:
        alert_correspondents(report, directorate)
    db.session.flush()
    return report


def alert_correspondents(report: DifficultyReport, directorate: Office) -> int:
    """An e-mail to each correspondent of the directorate (with an address) that a report
    awaits them: a link to it, no theme, no text, no name (the e-mail may be read anywhere).
    Through the outbox: sent by the worker after commit, retried like every alert."""
    link = public_url("ReportsView.show", report_id=report.id)
    body = _(
        "Bonjour,\n\n"
        "Un agent de votre direction a signalé une difficulté dans e-contacts.\n"
        "Pour la lire et y répondre, connectez-vous :\n%(link)s\n\n"
        "Ce courriel ne contient aucune information sur le signalement.\n"
        "Ne répondez pas à ce courriel : il est envoyé automatiquement.\n",
        link=link,
    )
    queued = 0
    for correspondent in access.correspondents_of(directorate):
        if correspondent.id == report.reporter_id or not correspondent.email:
            continue
        queue_email(
            kind=NotificationKind.REPORT_FILED,
            recipient=correspondent.email,
            subject=_("e-contacts : un nouveau signalement de difficulté"),
            body=body,
        )
        queued += 1
    return queued


def _require(agent: Agent, action: str, report: DifficultyReport) -> None:
    if not access.may(agent, action, report):
        raise ReportError(_("Cette action n'est pas possible sur ce signalement."))


def answer_report(
    *, agent: Agent, report: DifficultyReport, answer: str | None, close: bool = False
) -> None:
    """A correspondent (or the national level) answers; with ``close``, closes at once."""
    _require(agent, "answer", report)
    report.answer = _text(
        answer,
        field="answer",
        minimum=2,
        maximum=ANSWER_MAX,
        message=_("Écrivez la réponse."),
    )
    report.answered_by_id = agent.id
    report.answered_at = utcnow()
    report.status = ReportStatus.ANSWERED
    _record(EventKind.REPORT_ANSWERED, report, agent, national=is_admin(agent))
    if close:
        _close(agent, report)
    db.session.flush()


def raise_report(*, agent: Agent, report: DifficultyReport, reason: str | None) -> None:
    """A correspondent raises a report to the national level (administrators)."""
    _require(agent, "raise", report)
    report.raise_reason = _text(
        reason,
        field="reason",
        minimum=2,
        maximum=ANSWER_MAX,
        message=_("Dites pourquoi le niveau national doit s'en saisir."),
    )
    report.raised_at = utcnow()
    report.status = ReportStatus.RAISED
    _record(EventKind.REPORT_RAISED, report, agent)
    db.session.flush()


def close_report(*, agent: Agent, report: DifficultyReport) -> None:
    _require(agent, "close", report)
    _close(agent, report)
    db.session.flush()


def _close(agent: Agent, report: DifficultyReport) -> None:
    report.status = ReportStatus.CLOSED
    report.closed_at = utcnow()
    _record(EventKind.REPORT_CLOSED, report, agent)
