"""The personal space: inbox, history, a case's thread, attachments.

Every read goes through ``app.cases.access`` (a case or file of someone else is a 404).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import abort, render_template, request, send_file, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.wrappers import Response

from app.cases import access, operations
from app.cases.attachments import limits, path_of
from app.directory import settings
from app.platform.cache import references
from app.platform.params import page_number
from app.taxpayers import documents
from models import (
    AuthorKind,
    Case,
    CaseStatus,
    Channel,
    Message,
    Taxpayer,
    Transfer,
    db,
    utcnow,
)
from models.case import taxpayer_status
from views.taxpayer import blueprint
from views.taxpayer.session import me, pop_draft, taxpayer_required

PAGE_SIZE = 20
MAX_PAGE = 100  # past 2,000 cases, the history export has them all


def _page() -> int:
    return page_number(request.args.get("page"), last=MAX_PAGE)


@dataclass(frozen=True)
class CaseRow:
    """One line of the inbox or the history: the case's columns and labels, no ORM object (the
    templates read the same names as on a ``Case``: ``status_badge`` takes either)."""

    reference: str
    subject: str
    url: str  # the thread's
    channel: Channel
    status: CaseStatus
    withdrawn_at: datetime | None
    unread_by_taxpayer: bool
    received_at: datetime
    last_activity_at: datetime
    topic_label: str
    office_name: str
    taxpayer_status: str
    badge: str  # the DSFR badge's kind (status_badge_kind)


# The DSFR badge of each status on the taxpayer's pages (a withdrawn case's is "info").
BADGE_KINDS = {
    CaseStatus.NEW: "info",
    CaseStatus.IN_PROGRESS: "new",
    CaseStatus.AWAITING_TAXPAYER: "warning",
    CaseStatus.CLOSED: "success",
}


def status_badge_kind(case: Any) -> str:
    """The badge of a case's status (a ``Case`` or a ``CaseRow``): ``status_badge`` in
    taxpayer/_fields.html."""
    return "info" if case.withdrawn_at else BADGE_KINDS.get(case.status, "info")


ROW_COLUMNS = (
    Case.reference,
    Case.subject,
    Case.channel,
    Case.status,
    Case.withdrawn_at,
    Case.unread_by_taxpayer,
    Case.received_at,
    Case.last_activity_at,
    Case.topic_id,
    Case.office_id,
)
_PLAIN_REFERENCE = re.compile(r"[A-Za-z0-9-]+")


def _thread_urls(references: list[str]) -> list[str]:
    """The rows' thread links: one URL built, the others by putting each reference in its place
    (references are letters, digits and dashes, which a URL carries as they are)."""
    marker = "0-REFERENCE-0"
    head, _, tail = url_for("taxpayer.thread", reference=marker).rpartition(marker)
    return [
        head + reference + tail
        if _PLAIN_REFERENCE.fullmatch(reference)
        else url_for("taxpayer.thread", reference=reference)
        for reference in references
    ]


def _my_cases(*order_by: Any) -> tuple[list[CaseRow], int, bool]:
    """A page of the signed-in taxpayer's cases: (rows, page number, whether more follow). One
    query of columns; topic and office names come from the directory's cached labels."""
    page = _page()
    found = db.session.execute(
        select(*ROW_COLUMNS)
        .where(access.cases_of_taxpayer(me()))
        .order_by(*order_by)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    ).all()
    labels = references()
    statuses: dict[tuple[CaseStatus, bool, bool], str] = {}  # a few kinds per page, worded once
    urls = _thread_urls([row.reference for row in found[:PAGE_SIZE]])
    rows = []
    for row, url in zip(found, urls, strict=False):
        key = (row.status, row.channel.recorded, row.withdrawn_at is not None)
        if key not in statuses:
            statuses[key] = taxpayer_status(
                row.status, recorded_contact=key[1], withdrawn=row.withdrawn_at
            )
        rows.append(
            CaseRow(
                reference=row.reference,
                subject=row.subject,
                url=url,
                channel=row.channel,
                status=row.status,
                withdrawn_at=row.withdrawn_at,
                unread_by_taxpayer=row.unread_by_taxpayer,
                received_at=row.received_at,
                last_activity_at=row.last_activity_at,
                topic_label=labels.topic_labels.get(row.topic_id, ""),
                office_name=labels.office_names.get(row.office_id, ""),
                taxpayer_status=statuses[key],
                badge="info" if row.withdrawn_at else BADGE_KINDS.get(row.status, "info"),
            )
        )
    return rows, page, len(found) > PAGE_SIZE and page < MAX_PAGE


@blueprint.get("/")
@taxpayer_required
def inbox() -> str:
    cases, page, has_next = _my_cases(Case.last_activity_at.desc(), Case.id.desc())
    return render_template(
        "taxpayer/inbox.html",
        taxpayer=me(),
        cases=cases,
        page=page,
        has_next=has_next,
        intake=settings.intake(),
    )


@blueprint.get("/historique")
@taxpayer_required
def history() -> str:
    cases, page, has_next = _my_cases(Case.received_at.desc(), Case.id.desc())
    return render_template("taxpayer/history.html", cases=cases, page=page, has_next=has_next)


def case_or_404(taxpayer: Taxpayer, reference: str) -> Case:
    case = access.case_by_reference_for_taxpayer(taxpayer, reference)
    if case is None:
        abort(404)
    return case


def reply_state(case: Case) -> dict[str, Any]:
    """What the taxpayer may do next on this case, for the thread page."""
    intake = settings.intake()
    period = settings.messaging().reopen_period_days
    may_reply = operations.may_taxpayer_reopen(case)
    return {
        "may_reply": may_reply and intake.accepts_replies,
        "replies_paused": may_reply and not intake.accepts_replies,
        "reopen_until": (
            case.closed_at + timedelta(days=period) if case.closed_at and may_reply else None
        ),
        "intake": intake,
    }


def render_thread(
    case: Case,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    draft_restored: bool = False,
    status: int = 200,
) -> tuple[str, int]:
    messages = db.session.scalars(
        select(Message)
        .where(Message.case_id == case.id, access.messages_for_taxpayer())
        .options(
            selectinload(Message.attachments),
            joinedload(Message.author_office),
            joinedload(Message.author_agent),
        )
        .order_by(Message.created_at, Message.id)
    ).all()
    transfers = db.session.scalars(
        select(Transfer)
        .where(Transfer.case_id == case.id)
        .options(joinedload(Transfer.to_office))
        .order_by(Transfer.created_at, Transfer.id)
    ).all()
    max_count, max_bytes = limits()
    report = next(
        (m.id for m in messages if m.author_kind is AuthorKind.AGENT), None
    )  # a recorded contact opens with the agent's report of the exchange
    return (
        render_template(
            "taxpayer/thread.html",
            contact_state=contact_state(case),
            contact_report_id=report if case.is_recorded_contact else None,
            recording_office_name=(case.recording_office or case.office).name,
            may_withdraw=access.taxpayer_may_withdraw(me(), case),
            case=case,
            messages=messages,
            transfers=transfers,
            show_agent_names=settings.messaging().show_agent_names,
            form=form or {"body": "", "submission_token": new_token()},
            errors=errors or {},
            draft_restored=draft_restored,
            sent=request.args.get("envoye") == "1",
            max_count=max_count,
            max_bytes=max_bytes,
            statuses=CaseStatus,
            **reply_state(case),
        ),
        status,
    )


def contact_state(case: Case) -> str:
    """Where a recorded contact stands, in the taxpayer's words (templates/taxpayer/_contact)."""
    if case.status is CaseStatus.CLOSED:
        handled_there = (
            case.first_answer_at is not None and case.first_answer_at == case.received_at
        )
        return "handled" if handled_there else "closed"
    if case.status is CaseStatus.AWAITING_TAXPAYER:
        return "awaiting"
    if case.recording_office_id is not None and case.office_id != case.recording_office_id:
        return "forwarded"
    return "kept"


def new_token() -> str:
    return secrets.token_urlsafe(24)


@blueprint.get("/demandes/<reference>")
@taxpayer_required
def thread(reference: str) -> tuple[str, int]:
    case = case_or_404(me(), reference)
    operations.mark_read_by_taxpayer(case)
    db.session.commit()
    draft = pop_draft(request.path)
    if draft is not None:
        form = {"body": draft.get("body", ""), "submission_token": new_token()}
        return render_thread(case, form=form, draft_restored=True)
    return render_thread(case)


@blueprint.get("/pieces-jointes/<int:attachment_id>")
@taxpayer_required
def attachment(attachment_id: int) -> Response:
    item = access.attachment_for_taxpayer(me(), attachment_id)
    if item is None:
        abort(404)
    path = path_of(item.storage_key)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=item.content_type,
        as_attachment=True,
        download_name=item.filename,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.get("/demandes/<reference>/recepisse.pdf")
@taxpayer_required
def receipt(reference: str) -> Response:
    """The receipt of a case (or the attestation of a recorded contact), as a PDF."""
    taxpayer = me()
    case = case_or_404(taxpayer, reference)
    first_transfer = db.session.scalar(
        select(Transfer)
        .options(joinedload(Transfer.from_office))
        .where(Transfer.case_id == case.id)
        .order_by(Transfer.created_at, Transfer.id)
        .limit(1)
    )
    received_by = case.recording_office or (
        first_transfer.from_office if first_transfer else case.office
    )
    body = documents.receipt_pdf(
        reference=case.reference,
        recorded_contact=case.is_recorded_contact,
        channel=str(case.channel.label),
        received_at=case.received_at,
        office=received_by.name,
        current_office=case.office.name,
        topic=case.topic.full_label,
        tax_matter=(
            f"{case.tax_matter.label} ({case.tax_year})"
            if case.tax_matter and case.tax_year
            else (case.tax_matter.label if case.tax_matter else None)
        ),
        subject=case.subject,
        taxpayer_name=taxpayer.display_name,
        taxpayer_identifier=taxpayer.identifier,
        withdrawn_at=case.withdrawn_at,
        generated_at=utcnow(),
    )
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="recepisse-{case.reference}.pdf"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
