"""The office inbox, a case's page and its actions (FAB ``BaseView`` with our templates).

Every route loads the case through ``app.cases.access`` (a case the agent may not open is a
404), calls one operation, commits once and redirects (POST/redirect/GET). FAB's generic model
views are not used: they would bring actions and an API that bypass the access rules.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, flash, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Integer, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response as WerkzeugResponse

from app.cases import access, attachments, notices, operations, organise, outcomes, presence
from app.cases.attachments import IncomingFile, human_size, path_of
from app.directory import access as directory_access
from app.fab.security import signed_in
from app.help import pages as help_pages
from app.mailbox import access as mailbox_access
from app.mailbox import intake
from app.platform import drafts
from app.platform.params import int_or_none
from models import (
    Agent,
    Case,
    Channel,
    Message,
    Office,
    ReplyTemplate,
    Tag,
    TemplateAction,
    db,
    utcnow,
)
from views.agent import held, inbox, reading, thread

log = logging.getLogger(__name__)

PERMISSION = "AgentCases"
TOKEN_MAX = 64


def _files() -> list[IncomingFile]:
    return [
        IncomingFile(filename=item.filename or "", stream=item.stream)
        for item in request.files.getlist("pieces_jointes")
        if item.filename
    ]


def _token() -> str | None:
    token = (request.form.get("submission_token") or "").strip()
    return token[:TOKEN_MAX] or None


def _already_sent(token: str | None) -> bool:
    if not token:
        return False
    return (
        db.session.scalar(select(Message.id).where(Message.submission_token == token)) is not None
    )


# A refused action keeps what was typed (app.platform.drafts) under these keys, an hour.
REFUSED_CASE, REFUSED_FORM, REFUSED_MESSAGE, REFUSED_FIELD = "_case", "_form", "_error", "_field"
REFUSED_HELD = "_held"
REFUSED_WARNINGS = "_warnings"
REFUSED_KEPT_SECONDS = 3600


# Where the case's page opens after a form of it was sent back (its heading).
FORM_ANCHORS = {"message": "#compose-title", "email": "#email-title"}


class CaseForms:
    """What every form of a case's page does when it is refused or sent back by the guide's
    check: the same page, the same kept draft, whichever view received the form (the case's
    forms here, the answer by e-mail in ``views.agent.email``)."""

    render_template: Callable[..., str]

    def _case_or_404(self, case_id: int, *, for_update: bool = False) -> Case:
        case = access.case_for_agent(signed_in(), case_id, for_update=for_update)
        if case is None:
            abort(404)
        return case

    def _failed(
        self,
        case_id: int,
        form: str,
        error: operations.OperationError,
        *,
        held: list[dict[str, Any]] | None = None,
    ) -> Any:
        """Nothing was applied: show the page again with the message, what was typed and the
        files held for the form (``held``)."""
        db.session.rollback()
        if isinstance(error, operations.StaleCase):
            flash(error.message, "warning")
            return redirect(url_for("CasesView.show", case_id=case_id))
        case = self._case_or_404(case_id)
        # The refusal page shows nothing of the case (issue 20, finding 11): the message,
        # and a link back to the case's page (a logged reading) with what was typed.
        typed = {key: request.form.get(key, "") for key in request.form if key != "csrf_token"}
        kept = drafts.keep(
            {
                **typed,
                REFUSED_CASE: str(case.id),
                REFUSED_FORM: form,
                REFUSED_MESSAGE: error.message,
                REFUSED_FIELD: error.field or "",
                # The files set aside for the form (issue 16): chosen once, never lost.
                REFUSED_HELD: json.dumps(held or []),
            },
            seconds=REFUSED_KEPT_SECONDS,
        )
        back = url_for("CasesView.show", case_id=case.id, saisie=kept) if kept else None
        html = self.render_template(
            "agent/refused.html",
            reference=case.reference,
            message=error.message,
            back=back or url_for("CasesView.show", case_id=case.id),
            kept=bool(kept),
        )
        return html, 400

    def _check_warnings(
        self,
        case_id: int,
        error: operations.NeedsConfirmation,
        *,
        held: list[dict[str, Any]],
        form: str = "message",
    ) -> WerkzeugResponse:
        """The guide's check found something: nothing was sent; the request's page opens again
        (a logged reading, as any) with the message (of ``form``: the reply form, or the answer
        by e-mail), its files and the warnings, to correct it or send it anyway
        (``confirm_warnings``). The draft is kept as for a refused form."""
        typed = {key: request.form.get(key, "") for key in request.form if key != "csrf_token"}
        typed.pop("confirm_warnings", None)
        kept = drafts.keep(
            {
                **typed,
                REFUSED_CASE: str(case_id),
                REFUSED_FORM: form,
                REFUSED_MESSAGE: "",
                REFUSED_FIELD: "",
                REFUSED_HELD: json.dumps(held),
                REFUSED_WARNINGS: json.dumps([warning.message for warning in error.warnings]),
            },
            seconds=REFUSED_KEPT_SECONDS,
        )
        if not kept:
            # Redis is down: the draft cannot be kept; say so on the refusal page, with the text.
            return self._failed(case_id, form, error, held=held)
        flash(error.message, "warning")
        anchor = FORM_ANCHORS.get(form, "")
        return redirect(url_for("CasesView.show", case_id=case_id, saisie=kept) + anchor)


class CasesView(CaseForms, BaseView):
    route_base = "/agent/demandes"
    class_permission_name = PERMISSION
    default_view = "inbox"
    method_permission_name = dict.fromkeys(
        (
            "inbox",
            "show",
            "take",
            "assign",
            "message",
            "note",
            "close",
            "reopen",
            "transfer",
            "acknowledge",
            "heartbeat",
            "attachment",
            "tags",
            "link",
            "merge",
        ),
        "access",
    )

    # --- reading -------------------------------------------------------------------------

    @expose("/")
    @has_access
    def inbox(self) -> str:
        agent = signed_in()
        if not directory_access.handles_cases(agent):
            return self.render_template("agent/no_office.html")
        page = inbox.load_page(agent, request.args)
        return self.render_template(
            "agent/inbox.html",
            page=page,
            tabs=inbox.tab_links(page),
            tab_label=page.text.tab_labels[page.tab.key],
            sorts=page.text.sort_labels,
            ages=page.text.age_labels,
            channels=list(Channel),
            unassigned=inbox.UNASSIGNED,
            row=page.text,
            is_manager=directory_access.is_office_manager(agent),
            bulk_outcomes=outcomes.choices_for(None),
        )

    @expose("/<int:case_id>")
    @has_access
    def show(self, case_id: int) -> str:
        agent = signed_in()
        # The case with its taxpayer and assignee (the page shows both), as the access module
        # lets the agent see it; the statement built once, the case's id its parameter.
        case = db.session.scalar(
            reading.BuiltStatements.get(
                ("case-page", agent.id),
                access.cases_visible_to(agent),
                lambda visible: (
                    select(Case)
                    .options(joinedload(Case.taxpayer), joinedload(Case.assignee))
                    .where(Case.id == bindparam("case_id", type_=Integer), visible)
                ),
            ),
            {"case_id": case_id},
        )
        if case is None:
            abort(404)
        operations.log_access(
            agent=agent,
            object_kind="case",
            object_id=case.id,
            taxpayer_id=case.taxpayer_id,
            case_id=case.id,
            reason=_("Traitement de la demande"),
        )
        operations.mark_read_by_office(case)
        notices.mark_case_read(agent, case.id)
        refused = self._refused_input(case)
        if refused is not None:
            form, error, values = refused
            if error.message:  # a refusal; the guide's warnings come with their own flash
                flash(error.message, "danger")
            html = self._render_case(case, form=form, error=error, values=values)
            db.session.commit()
            return html
        # The template variable chooser also works without JavaScript: ?modele=<id>.
        html = self._render_case(case, values=self._template_values(case))
        # The page goes out only once the access log is committed; rendering first means
        # nothing loaded for it (the agent, their roles, the case) is expired and reloaded.
        db.session.commit()
        return html

    def _template_values(self, case: Case) -> dict[str, str]:
        """A template (or macro) applied without JavaScript: its text, kind and outcome."""
        template_id = int_or_none(request.args.get("modele"))
        if template_id is None:
            return {}
        template = db.session.scalar(
            select(ReplyTemplate).where(
                ReplyTemplate.id == template_id, directory_access.templates_usable_by(signed_in())
            )
        )
        return thread.FilledTemplate.of(template, case).form_values() if template else {}

    def _render_case(
        self,
        case: Case,
        *,
        form: str = "",
        error: operations.OperationError | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
    ) -> Any:
        values = dict(values or {})
        page = thread.load(signed_in(), case)
        # One-time tokens of the message and note forms; the form sent again keeps its own.
        tokens = {name: secrets.token_hex(16) for name in ("message", "note", "email")}
        if form in tokens and values.get("submission_token"):
            tokens[form] = str(values["submission_token"])[:TOKEN_MAX]
        html = self.render_template(
            "agent/case.html",
            page=page,
            tokens=tokens,
            form=form,
            error=error.message if error else "",
            error_field=(error.field or "") if error else "",
            values=values,
            outcomes=outcomes.choices_for(case.topic_id),
            macro_labels={action.value: action.label for action in TemplateAction},
            human_size=human_size,
            now=utcnow(),
            presence_ttl=presence.TTL_SECONDS,
            guide=help_pages.guide(),
            email=self._email(case),
        )
        return (html, status) if status != 200 else html

    def _email(self, case: Case) -> dict[str, Any] | None:
        """An e-mail's case (app.mailbox): the e-mail and what the agent may do with it."""
        if case.channel is not Channel.EMAIL:
            return None
        email = intake.email_of_case(case.id)
        agent = signed_in()
        return {
            "row": email,
            "may_answer": mailbox_access.may_answer_by_email(agent, case, email),
            "may_convert": mailbox_access.may_convert(agent, case),
            "may_attach": access.may(agent, "attach_taxpayer", case),
        }

    def _refused_input(
        self, case: Case
    ) -> tuple[str, operations.OperationError, dict[str, Any]] | None:
        """What a refused form held, when the page is opened from its refusal (``?saisie=``)."""
        draft_id = request.args.get("saisie")
        kept = drafts.take(draft_id[:64]) if draft_id else None
        if not kept or kept.pop(REFUSED_CASE, "") != str(case.id):
            return None
        form = kept.pop(REFUSED_FORM, "")
        error = operations.OperationError(
            kept.pop(REFUSED_MESSAGE, ""), field=kept.pop(REFUSED_FIELD, "") or None
        )
        values: dict[str, Any] = dict(kept)
        values["held"] = json.loads(kept.pop(REFUSED_HELD, "[]") or "[]")
        values.pop(REFUSED_HELD, None)
        values["warnings"] = json.loads(kept.pop(REFUSED_WARNINGS, "[]") or "[]")
        values.pop(REFUSED_WARNINGS, None)
        return form, error, values

    def _done(self, case_id: int, message: str) -> WerkzeugResponse:
        flash(message, "success")
        return redirect(url_for("CasesView.show", case_id=case_id))

    # --- state changes (with the version the page was loaded with) --------------------------

    @expose("/<int:case_id>/prendre", methods=["POST"])
    @has_access
    def take(self, case_id: int) -> Any:
        case = self._case_or_404(case_id, for_update=True)
        try:
            operations.take_case(
                agent=signed_in(),
                case=case,
                expected_version=int_or_none(request.form.get("expected_version")),
            )
            db.session.commit()
        except operations.OperationError as error:
            return self._failed(case_id, "take", error)
        return self._done(case_id, _("Vous avez pris en charge cette demande."))

    @expose("/<int:case_id>/attribuer", methods=["POST"])
    @has_access
    def assign(self, case_id: int) -> Any:
        case = self._case_or_404(case_id, for_update=True)
        raw = request.form.get("assignee_id", "")
        assignee: Agent | None = None
        try:
            if raw:
                assignee = db.session.scalar(
                    select(Agent).where(
                        Agent.id == (int_or_none(raw) or 0),
                        directory_access.agents_assignable_by(signed_in()),
                    )
                )
                if assignee is None:
                    raise operations.OperationError(
                        _("Choisissez un agent du service."), field="assignee_id"
                    )
            operations.assign_case(
                agent=signed_in(),
                case=case,
                assignee=assignee,
                expected_version=int_or_none(request.form.get("expected_version")),
            )
            db.session.commit()
        except operations.OperationError as error:
            return self._failed(case_id, "assign", error)
        if assignee is None:
            return self._done(case_id, _("La demande n'est plus attribuée."))
        return self._done(case_id, _("Demande attribuée à %(name)s.", name=assignee.full_name))

    @expose("/<int:case_id>/cloturer", methods=["POST"])
    @has_access
    def close(self, case_id: int) -> Any:
        case = self._case_or_404(case_id, for_update=True)
        try:
            operations.close_case(
                agent=signed_in(),
                case=case,
                outcome_id=int_or_none(request.form.get("outcome_id")),
                outcome_other=request.form.get("outcome_other", ""),
                expected_version=int_or_none(request.form.get("expected_version")),
            )
            db.session.commit()
        except operations.OperationError as error:
            return self._failed(case_id, "close", error)
        return self._done(case_id, _("La demande a été clôturée."))

    @expose("/<int:case_id>/rouvrir", methods=["POST"])
    @has_access
    def reopen(self, case_id: int) -> Any:
        case = self._case_or_404(case_id, for_update=True)
        try:
            operations.reopen_case(
                agent=signed_in(),
                case=case,
                reason=request.form.get("reason", "").strip() or None,
                expected_version=int_or_none(request.form.get("expected_version")),
            )
            db.session.commit()
        except operations.OperationError as error:
            return self._failed(case_id, "reopen", error)
        return self._done(case_id, _("La demande a été rouverte."))

    @expose("/<int:case_id>/transmettre", methods=["POST"])
    @has_access
    def transfer(self, case_id: int) -> Any:
        case = self._case_or_404(case_id, for_update=True)
        office_id = int_or_none(request.form.get("to_office_id"))
        to_office = db.session.get(Office, office_id) if office_id else None
        try:
            operations.transfer_case(
                agent=signed_in(),
                case=case,
                to_office=to_office,
                reason=request.form.get("reason", ""),
                expected_version=int_or_none(request.form.get("expected_version")),
            )
            name = to_office.name if to_office else ""
            db.session.commit()
        except operations.OperationError as error:
            return self._failed(case_id, "transfer", error)
        # The case now belongs to the other office: its page is no longer ours.
        presence.leave(case_id, signed_in().id)
        flash(_("La demande a été transmise à %(office)s.", office=name), "success")
        return redirect(url_for("CasesView.inbox"))

    @expose("/<int:case_id>/prendre-en-compte", methods=["POST"])
    @has_access
    def acknowledge(self, case_id: int) -> Any:
        case = self._case_or_404(case_id, for_update=True)
        try:
            operations.acknowledge_transfer(agent=signed_in(), case=case)
            db.session.commit()
        except operations.OperationError as error:
            return self._failed(case_id, "acknowledge", error)
        return self._done(case_id, _("La transmission a été prise en compte."))

    # --- tags, links, merges --------------------------------------------------------------

    @expose("/<int:case_id>/etiquettes", methods=["POST"])
    @has_access
    def tags(self, case_id: int) -> Any:
        agent = signed_in()
        case = self._case_or_404(case_id, for_update=True)
        try:
            removed = int_or_none(request.form.get("remove_tag_id"))
            if removed is not None:
                organise.untag_case(agent=agent, case=case, tag_id=removed)
                done = _("L'étiquette a été retirée.")
            else:
                tag = db.session.scalar(
                    select(Tag).where(
                        Tag.id == (int_or_none(request.form.get("tag_id")) or 0),
                        access.tags_usable_by(agent),
                    )
                )
                if tag is None:
                    raise operations.OperationError(
                        _("Choisissez une étiquette du service."), field="tag_id"
                    )
                organise.tag_case(agent=agent, case=case, tag=tag)
                done = _("L'étiquette « %(name)s » a été ajoutée.", name=tag.name)
            db.session.commit()
        except operations.OperationError as error:
            return self._failed(case_id, "tags", error)
        return self._done(case_id, done)

    def _other_case(self, agent: Any) -> Case | None:
        reference = " ".join(request.form.get("reference", "").split()).upper()[:32]
        if not reference:
            return None
        return db.session.scalar(
            select(Case).where(Case.reference == reference, access.cases_visible_to(agent))
        )

    @expose("/<int:case_id>/lier", methods=["POST"])
    @has_access
    def link(self, case_id: int) -> Any:
        agent = signed_in()
        case = self._case_or_404(case_id, for_update=True)
        try:
            other = self._other_case(agent)
            organise.link_cases(agent=agent, case=case, other=other)
            reference = other.reference if other else ""
            db.session.commit()
        except operations.OperationError as error:
            return self._failed(case_id, "link", error)
        return self._done(
            case_id, _("La demande est liée à la demande %(reference)s.", reference=reference)
        )

    @expose("/<int:case_id>/fusionner", methods=["POST"])
    @has_access
    def merge(self, case_id: int) -> Any:
        agent = signed_in()
        case = self._case_or_404(case_id, for_update=True)
        try:
            into = self._other_case(agent)
            organise.merge_case(agent=agent, duplicate=case, into=into)
            kept_id, reference = (into.id, into.reference) if into else (case_id, "")
            db.session.commit()
        except operations.OperationError as error:
            return self._failed(case_id, "merge", error)
        flash(
            _(
                "Le doublon a été fusionné dans la demande %(reference)s : ses messages y sont "
                "désormais.",
                reference=reference,
            ),
            "success",
        )
        return redirect(url_for("CasesView.show", case_id=kept_id))

    # --- messages (appended, never refused as stale) ----------------------------------------

    @expose("/<int:case_id>/repondre", methods=["POST"])
    @has_access
    def message(self, case_id: int) -> Any:
        agent = signed_in()
        case = self._case_or_404(case_id, for_update=True)
        token = _token()
        if _already_sent(token):
            flash(_("Ce message a déjà été envoyé."), "info")
            return redirect(url_for("CasesView.show", case_id=case_id))
        kind = request.form.get("kind", "reponse")
        close = kind == "reponse" and request.form.get("close") == "1"
        # Files held from a refused try of this form come back with it (views.agent.held).
        kept = attachments.release(
            held.read(request.form.getlist("held_file"), agent_id=agent.id, case_id=case.id)
        )
        newer = thread.newer_messages_by_others(
            case, agent, int_or_none(request.form.get("last_message_id"))
        )
        confirmed = request.form.get("confirm_warnings") == "1"
        try:
            if kind == "precision":
                operations.request_information(
                    agent=agent,
                    case=case,
                    body=request.form.get("body", ""),
                    files=_files(),
                    submission_token=token,
                    kept=kept,
                    warnings_confirmed=confirmed,
                )
                done = _("Votre demande de précision a été envoyée à l'usager.")
            else:
                outcome_id = int_or_none(request.form.get("outcome_id"))
                if close and outcome_id is None:
                    raise operations.OperationError(
                        _("Choisissez l'issue de la demande pour la clôturer."), field="outcome"
                    )
                operations.reply_to_case(
                    agent=agent,
                    case=case,
                    body=request.form.get("body", ""),
                    files=_files(),
                    close=close,
                    outcome_id=outcome_id,
                    outcome_other=request.form.get("outcome_other", ""),
                    submission_token=token,
                    kept=kept,
                    warnings_confirmed=confirmed,
                )
                done = (
                    _("Votre réponse a été envoyée à l'usager et la demande clôturée.")
                    if close
                    else _("Votre réponse a été envoyée à l'usager.")
                )
            db.session.commit()
        except IntegrityError:
            attachments.hold(kept)
            return self._double_submit(case_id)
        except operations.NeedsConfirmation as error:
            db.session.rollback()
            return self._check_warnings(case_id, error, held=self._hold(error, kept))
        except operations.OperationError as error:
            db.session.rollback()
            return self._failed(case_id, "message", error, held=self._hold(error, kept))
        self._tell_newer(newer)
        return self._done(case_id, done)

    def _hold(
        self, error: operations.OperationError, kept: list[attachments.StoredFile]
    ) -> list[dict[str, Any]]:
        """A refused message keeps its files: those held before, and the new ones (checked and
        stored as usual) unless they are what was refused."""
        fresh: list[attachments.StoredFile] = []
        if error.field != "files":
            try:
                fresh = attachments.store_files(_files())
            except (attachments.AttachmentRejected, attachments.StorageUnavailable):
                fresh = []
        keep = [*kept, *fresh]
        attachments.hold(keep)
        agent_id, case_id = signed_in().id, int(request.view_args["case_id"])  # type: ignore[index]
        return [
            {
                "token": held.token(item, agent_id=agent_id, case_id=case_id),
                "filename": item.filename,
                "size": item.size,
            }
            for item in keep
        ]

    @expose("/<int:case_id>/note", methods=["POST"])
    @has_access
    def note(self, case_id: int) -> Any:
        agent = signed_in()
        case = self._case_or_404(case_id, for_update=True)
        token = _token()
        if _already_sent(token):
            flash(_("Cette note a déjà été ajoutée."), "info")
            return redirect(url_for("CasesView.show", case_id=case_id))
        newer = thread.newer_messages_by_others(
            case, agent, int_or_none(request.form.get("last_message_id"))
        )
        try:
            operations.add_note(
                agent=agent,
                case=case,
                body=request.form.get("note_body", ""),
                files=_files(),
                submission_token=token,
            )
            db.session.commit()
        except IntegrityError:
            return self._double_submit(case_id)
        except operations.OperationError as error:
            if error.field == "body":
                error.field = "note_body"
            return self._failed(case_id, "note", error)
        self._tell_newer(newer)
        return self._done(case_id, _("Votre note interne a été ajoutée."))

    def _double_submit(self, case_id: int) -> WerkzeugResponse:
        # Two identical posts at once: the unique token kept the first one only.
        db.session.rollback()
        flash(_("Ce message a déjà été envoyé."), "info")
        return redirect(url_for("CasesView.show", case_id=case_id))

    def _tell_newer(self, newer: int) -> None:
        if newer:
            flash(
                ngettext(
                    "Un nouveau message a été ajouté depuis l'ouverture de la page : le vôtre "
                    "a été ajouté à la suite. Relisez le fil.",
                    "%(num)s nouveaux messages ont été ajoutés depuis l'ouverture de la page : "
                    "le vôtre a été ajouté à la suite. Relisez le fil.",
                    newer,
                ),
                "info",
            )

    # --- collisions -------------------------------------------------------------------------

    @expose("/<int:case_id>/presence", methods=["POST"])
    @has_access
    def heartbeat(self, case_id: int) -> Response:
        agent = signed_in()
        case = self._case_or_404(case_id)
        viewers = presence.mark(case.id, agent.id, agent.full_name)
        notices = [
            _("%(name)s consulte aussi cette demande.", name=viewer.name) for viewer in viewers
        ]
        if thread.newer_messages_by_others(
            case, agent, int_or_none(request.form.get("last_message_id"))
        ):
            notices.append(_("Un nouveau message a été ajouté depuis l'ouverture de la page."))
        version = int_or_none(request.form.get("version"))
        if version is not None and version != case.version:
            notices.append(
                _("La demande a été modifiée depuis l'ouverture de la page (statut, attribution…).")
            )
        db.session.rollback()
        return jsonify(notices=notices, reload=_("Recharger la page"))

    # --- attachments ---------------------------------------------------------------------

    @expose("/<int:case_id>/pieces-jointes/<int:attachment_id>")
    @has_access
    def attachment(self, case_id: int, attachment_id: int) -> Any:
        agent = signed_in()
        found = access.attachment_for_agent(agent, attachment_id)
        if found is None or found.message.case_id != case_id:
            abort(404)
        case = found.message.case
        path = path_of(found.storage_key)
        if not path.is_file():
            abort(404)
        operations.log_access(
            agent=agent,
            object_kind="attachment",
            object_id=found.id,
            taxpayer_id=case.taxpayer_id,
            case_id=case.id,
            reason=_("Consultation d'une pièce jointe"),
        )
        filename, content_type = found.filename, found.content_type
        db.session.commit()
        response = send_file(
            path,
            mimetype=content_type,
            as_attachment=True,
            download_name=filename,
            max_age=0,
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "private, no-store"
        return response


# --- bulk actions, tags, links and merges (issue 16) ----------------------------------------

BULK_MAX = 100
BULK_ACTIONS = ("prendre", "attribuer", "cloturer", "etiqueter")


@dataclass
class BulkOutcome:
    done: list[str]
    refused: list[tuple[str, str]]


def _bulk_ids() -> list[int]:
    ids: list[int] = []
    for raw in request.form.getlist("case_ids")[: BULK_MAX + 1]:
        value = int_or_none(raw)
        if value is not None and value > 0 and value not in ids:
            ids.append(value)
    return ids


class BulkCasesView(BaseView):
    """Bulk actions of the inbox: each case is loaded through ``app.access``, checked and
    changed by the same operation as one by one (its own event), and logged; one commit."""

    route_base = "/agent/demandes/groupe"
    class_permission_name = PERMISSION
    default_view = "bulk"
    method_permission_name = {"bulk": "access"}

    @expose("/", methods=["POST"])
    @has_access
    def bulk(self) -> Any:
        agent = signed_in()
        back = request.form.get("retour", "")
        target = back if back.startswith("/agent/demandes/") else url_for("CasesView.inbox")
        if not directory_access.handles_cases(agent):
            abort(404)
        action = request.form.get("action", "")
        ids = _bulk_ids()
        if action not in BULK_ACTIONS or not ids:
            flash(_("Cochez au moins une demande et choisissez une action."), "warning")
            return redirect(target)
        if len(ids) > BULK_MAX:
            flash(_("Au plus %(n)s demandes à la fois.", n=BULK_MAX), "warning")
            return redirect(target)
        try:
            apply = self._action(agent, action)
        except operations.OperationError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return redirect(target)
        result = BulkOutcome(done=[], refused=[])
        for case_id in ids:
            case = access.case_for_agent(agent, case_id, for_update=True)
            if case is None:
                result.refused.append((f"#{case_id}", _("demande introuvable dans votre service")))
                continue
            try:
                apply(case)
            except operations.OperationError as error:
                result.refused.append((case.reference, error.message))
                continue
            result.done.append(case.reference)
            log.info(
                "bulk %s by agent %s on case %s (%s)", action, agent.id, case.id, case.reference
            )
        db.session.commit()
        if result.done:
            flash(
                ngettext(
                    "%(num)s demande traitée : %(refs)s.",
                    "%(num)s demandes traitées : %(refs)s.",
                    len(result.done),
                    refs=", ".join(result.done),
                ),
                "success",
            )
        for reference, reason in result.refused:
            flash(_("%(ref)s : non traitée (%(reason)s).", ref=reference, reason=reason), "danger")
        return redirect(target)

    def _action(self, agent: Agent, action: str) -> Callable[[Case], None]:
        """The operation to apply to each case, its parameters checked once."""
        if action == "prendre":
            return lambda case: operations.take_case(agent=agent, case=case)
        if action == "attribuer":
            if not directory_access.is_office_manager(agent):
                raise operations.NotAllowed(
                    _("Seul le chef de service peut attribuer une demande.")
                )
            assignee = db.session.scalar(
                select(Agent).where(
                    Agent.id == (int_or_none(request.form.get("assignee_id")) or 0),
                    directory_access.agents_assignable_by(agent),
                )
            )
            if assignee is None:
                raise operations.OperationError(_("Choisissez un agent du service."))
            return lambda case: operations.assign_case(agent=agent, case=case, assignee=assignee)
        if action == "cloturer":
            outcome_id = int_or_none(request.form.get("outcome_id"))
            other = request.form.get("outcome_other", "")
            if outcome_id is None:
                raise operations.OperationError(
                    _("Choisissez l'issue des demandes pour les clôturer.")
                )
            return lambda case: operations.close_case(
                agent=agent, case=case, outcome_id=outcome_id, outcome_other=other
            )
        tag = db.session.scalar(
            select(Tag).where(
                Tag.id == (int_or_none(request.form.get("tag_id")) or 0),
                access.tags_usable_by(agent),
            )
        )
        if tag is None:
            raise operations.OperationError(_("Choisissez une étiquette du service."))
        return lambda case: _tag(agent, case, tag)


def _tag(agent: Agent, case: Case, tag: Tag) -> None:
    organise.tag_case(agent=agent, case=case, tag=tag)
