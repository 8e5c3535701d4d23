"""Writing: a new case, a reply in a thread.

Both forms carry a ``submission_token`` drawn when the form is shown: posting it twice (a double
click, a form sent again) gives one case or one message. Their CSRF check is made here rather
than by the global hook, so that a form posted after the session ended keeps its text
(``keep_draft_and_sign_in``) instead of ending on an error page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import validate_csrf
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response
from wtforms import ValidationError

from app.cases import access, operations
from app.cases.attachments import AttachmentRejected, IncomingFile, check_files, human_size, limits
from app.cases.routing import NoCompetentOffice
from app.directory import settings
from app.extensions import csrf
from app.platform.params import int_or_none
from models import Case, Message, TaxMatter, Taxpayer, Topic, db
from views.taxpayer import blueprint
from views.taxpayer.forms import WithdrawForm
from views.taxpayer.session import (
    current_taxpayer,
    keep_draft_and_sign_in,
    me,
    pop_draft,
    taxpayer_required,
)
from views.taxpayer.space import case_or_404, new_token, render_thread

CASE_FIELDS = ("topic", "tax_matter", "tax_year", "subject", "body", "suite")
REPLY_FIELDS = ("body",)
SUBJECT_MAX = operations.SUBJECT_MAX


def _csrf_ok() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


def _files() -> list[IncomingFile]:
    return [
        IncomingFile(filename=item.filename, stream=item.stream)
        for item in request.files.getlist("files")
        if item.filename
    ]


# --- the choices offered -------------------------------------------------------------------


@dataclass
class TopicGroup:
    parent: Topic
    children: list[Topic] = field(default_factory=list)


def topic_groups(taxpayer: Taxpayer) -> list[TopicGroup]:
    """Active topics for this kind of taxpayer: parents, each with its active sub-topics."""
    topics = db.session.scalars(
        select(Topic)
        .where(
            Topic.active.is_(True),
            or_(Topic.taxpayer_kind.is_(None), Topic.taxpayer_kind == taxpayer.kind),
        )
        .order_by(Topic.position, Topic.label, Topic.id)
    ).all()
    groups = {t.id: TopicGroup(t) for t in topics if t.parent_id is None}
    for topic in topics:
        if topic.parent_id is not None and topic.parent_id in groups:
            groups[topic.parent_id].children.append(topic)
    return list(groups.values())


def selectable_topics(groups: list[TopicGroup]) -> dict[int, Topic]:
    chosen: dict[int, Topic] = {}
    for group in groups:
        for topic in group.children or [group.parent]:
            chosen[topic.id] = topic
    return chosen


def tax_matters(taxpayer: Taxpayer) -> list[TaxMatter]:
    return list(
        db.session.scalars(
            select(TaxMatter)
            .where(
                TaxMatter.active.is_(True),
                or_(TaxMatter.taxpayer_kind.is_(None), TaxMatter.taxpayer_kind == taxpayer.kind),
            )
            .order_by(TaxMatter.position, TaxMatter.label, TaxMatter.id)
        )
    )


def years() -> list[int]:
    this_year = date.today().year
    return list(range(this_year, this_year - 11, -1))


# --- a new case ----------------------------------------------------------------------------


def _linked(taxpayer: Taxpayer, reference: str | None) -> Case | None:
    if not reference:
        return None
    return access.case_by_reference_for_taxpayer(taxpayer, reference.strip())


def _render_new(
    taxpayer: Taxpayer,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    *,
    draft_restored: bool = False,
    status: int = 200,
) -> tuple[str, int]:
    groups = topic_groups(taxpayer)
    max_count, max_bytes = limits()
    return (
        render_template(
            "taxpayer/new_request.html",
            form=form,
            errors=errors or {},
            groups=groups,
            matters=tax_matters(taxpayer),
            years=years(),
            intake=settings.intake(),
            linked=_linked(taxpayer, form.get("suite")),
            draft_restored=draft_restored,
            max_count=max_count,
            max_bytes=human_size(max_bytes),
            max_bytes_raw=max_bytes,
            subject_max=SUBJECT_MAX,
        ),
        status,
    )


@blueprint.get("/demandes/nouvelle")
@taxpayer_required
def new_request() -> tuple[str, int]:
    taxpayer = me()
    form = dict.fromkeys(CASE_FIELDS, "")
    form["suite"] = request.args.get("suite", "")
    draft = pop_draft(request.path)
    if draft is not None:
        form.update({k: v for k, v in draft.items() if k in CASE_FIELDS})
    if form["suite"] and _linked(taxpayer, form["suite"]) is None:
        form["suite"] = ""
    linked = _linked(taxpayer, form["suite"])
    if linked is not None and not form["subject"]:
        form["subject"] = _("Suite de la demande %(reference)s", reference=linked.reference)
    form["submission_token"] = new_token()
    return _render_new(taxpayer, form, draft_restored=draft is not None)


def _check_case(
    taxpayer: Taxpayer, form: dict[str, str], files: list[IncomingFile]
) -> tuple[dict[str, str], Topic | None, TaxMatter | None, int | None]:
    """Every error of the form at once, in French, by field."""
    errors: dict[str, str] = {}
    offered = selectable_topics(topic_groups(taxpayer))
    # A value that is not a number is refused as "not in the list" (0 matches nothing).
    topic = offered.get(int_or_none(form["topic"], invalid=0) or 0)
    if topic is None:
        errors["topic"] = _("Choisissez un motif dans la liste.")
    matter: TaxMatter | None = None
    matter_id = int_or_none(form["tax_matter"], invalid=0)
    if matter_id is not None:
        matter = next((m for m in tax_matters(taxpayer) if m.id == matter_id), None)
        if matter is None:
            errors["tax_matter"] = _("Choisissez un impôt dans la liste.")
    year = int_or_none(form["tax_year"], invalid=0)
    if matter is not None and matter.asks_year:
        if year is None:
            errors["tax_year"] = _("Choisissez l'année concernée.")
        elif year not in years():
            errors["tax_year"] = _("Choisissez une année dans la liste.")
    elif year is not None and year not in years():
        errors["tax_year"] = _("Choisissez une année dans la liste.")
    if matter is None or not matter.asks_year:
        year = None
    if not form["subject"].strip():
        errors["subject"] = _("Saisissez l'objet de votre demande.")
    elif len(form["subject"].strip()) > SUBJECT_MAX:
        errors["subject"] = _("L'objet ne peut dépasser %(n)s caractères.", n=SUBJECT_MAX)
    if not form["body"].strip():
        errors["body"] = _("Écrivez votre message.")
    elif len(form["body"]) > operations.BODY_MAX:
        errors["body"] = _("Le message ne peut dépasser %(n)s caractères.", n=operations.BODY_MAX)
    try:
        check_files(files)
    except AttachmentRejected as refused:
        errors["files"] = str(refused)
    return errors, topic, matter, year


@csrf.exempt
@blueprint.post("/demandes/nouvelle")
def submit_request() -> Response | tuple[str, int]:
    taxpayer = current_taxpayer()
    form_url = url_for("taxpayer.new_request")
    if taxpayer is None:
        return keep_draft_and_sign_in(CASE_FIELDS, form_url)
    form = {name: request.form.get(name, "") for name in CASE_FIELDS}
    form["submission_token"] = request.form.get("submission_token", "")[:64] or new_token()
    if not _csrf_ok():
        errors = {
            "form": _(
                "Par sécurité, ce formulaire doit être envoyé à nouveau : vérifiez-le, "
                "choisissez à nouveau vos pièces jointes puis envoyez-le."
            )
        }
        return _render_new(taxpayer, form, errors, status=400)
    if not settings.intake().accepts_new_cases:
        existing = _existing_case(taxpayer, form["submission_token"])
        if existing is not None:
            return redirect(url_for("taxpayer.request_sent", reference=existing.reference))
        return _render_new(taxpayer, form, status=503)
    files = _files()
    errors, topic, matter, year = _check_case(taxpayer, form, files)
    if not errors:
        try:
            case = operations.submit_case(
                taxpayer=taxpayer,
                topic=topic,
                tax_matter=matter,
                tax_year=year,
                subject=form["subject"],
                body=form["body"],
                files=files,
                submission_token=form["submission_token"],
                linked_case=_linked(taxpayer, form["suite"]),
            )
            # Read before the commit expires the case (else one more SELECT to reload it).
            reference = case.reference
            db.session.commit()
        except operations.OperationError as error:
            db.session.rollback()
            errors[error.field or "form"] = error.message
        except NoCompetentOffice:
            db.session.rollback()
            errors["form"] = _(
                "Votre demande n'a pas pu être orientée vers un service pour le moment : "
                "rien n'a été envoyé. Réessayez dans quelques heures."
            )
        except IntegrityError:
            # The same form, posted twice at the same moment: the first one won.
            db.session.rollback()
            existing = _existing_case(taxpayer, form["submission_token"])
            if existing is None:
                raise
            reference = existing.reference
        if not errors:
            return redirect(url_for("taxpayer.request_sent", reference=reference))
    return _render_new(taxpayer, form, errors, status=400)


def _existing_case(taxpayer: Taxpayer, token: str) -> Case | None:
    if not token:
        return None
    return db.session.scalar(
        select(Case).where(Case.submission_token == token, access.cases_of_taxpayer(taxpayer))
    )


@blueprint.get("/demandes/<reference>/envoyee")
@taxpayer_required
def request_sent(reference: str) -> str:
    case = case_or_404(me(), reference)
    return render_template("taxpayer/request_sent.html", case=case)


# --- a reply in the thread -----------------------------------------------------------------


@csrf.exempt
@blueprint.post("/demandes/<reference>/repondre")
def reply(reference: str) -> Response | tuple[str, int]:
    taxpayer = current_taxpayer()
    thread_url = url_for("taxpayer.thread", reference=reference)
    if taxpayer is None:
        return keep_draft_and_sign_in(REPLY_FIELDS, thread_url)
    case = case_or_404(taxpayer, reference)
    form = {
        "body": request.form.get("body", ""),
        "submission_token": request.form.get("submission_token", "")[:64] or new_token(),
    }
    if not _csrf_ok():
        return render_thread(
            case,
            form=form,
            errors={
                "form": _(
                    "Par sécurité, ce message doit être envoyé à nouveau : vérifiez-le, "
                    "choisissez à nouveau vos pièces jointes puis envoyez-le."
                )
            },
            status=400,
        )
    errors: dict[str, str] = {}
    files = _files()
    if not form["body"].strip():
        errors["body"] = _("Écrivez votre message.")
    try:
        check_files(files)
    except AttachmentRejected as refused:
        errors["files"] = str(refused)
    if not errors:
        try:
            operations.reply_as_taxpayer(
                taxpayer=taxpayer,
                case=case,
                body=form["body"],
                files=files,
                submission_token=form["submission_token"],
            )
            db.session.commit()
        except operations.OperationError as error:
            db.session.rollback()
            errors[error.field or "form"] = error.message
        except IntegrityError:
            db.session.rollback()
            exists = db.session.scalar(
                select(Message.id).where(
                    Message.submission_token == form["submission_token"],
                    Message.case_id == case.id,
                )
            )
            if exists is None:
                raise
        if not errors:
            flash(_("Votre message a été envoyé."), "success")
            return redirect(url_for("taxpayer.thread", reference=reference, envoye=1))
    db.session.rollback()
    return render_thread(case, form=form, errors=errors, status=400)


# --- withdrawing a case no agent has answered yet ------------------------------------------


@blueprint.route("/demandes/<reference>/retirer", methods=["GET", "POST"])
@taxpayer_required
def withdraw(reference: str) -> Response | tuple[str, int]:
    """Ask for confirmation, then withdraw: the case is kept, closed and marked withdrawn."""
    taxpayer = me()
    case = case_or_404(taxpayer, reference)
    thread_url = url_for("taxpayer.thread", reference=reference)
    if not access.taxpayer_may_withdraw(taxpayer, case):
        flash(
            _(
                "Cette demande ne peut plus être retirée : un agent y a déjà répondu ou elle "
                "est close."
            ),
            "error",
        )
        return redirect(thread_url)
    form = WithdrawForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                operations.withdraw_case(taxpayer=taxpayer, case=case, reason=form.reason.data)
                db.session.commit()
            except operations.OperationError as refused:
                db.session.rollback()
                flash(refused.message, "error")
                return redirect(thread_url)
            flash(_("Votre demande %(reference)s est retirée.", reference=reference), "success")
            return redirect(thread_url)
        status = 400
    return render_template("taxpayer/withdraw.html", case=case, form=form), status
