"""The office inbox, a request's page and its actions (FAB ``BaseView`` with our templates).

Every route loads the request through ``app.cases.access`` (a request the agent may not open is a
404), calls one operation, commits once and redirects (POST/redirect/GET). FAB's generic model
views are not used: they would bring actions and an API that bypass the access rules.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Response, abort, flash, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response as WerkzeugResponse

from app.cases import access, operations, presence
from app.cases.attachments import IncomingFile, human_size, path_of
from app.directory import access as directory_access
from app.platform import drafts
from app.platform.params import int_or_none
from models import Agent, Case, Channel, Message, Office, ReplyTemplate, db, utcnow
from views.agent import inbox, thread

PERMISSION = "AgentCases"
TOKEN_MAX = 64
# Suggestions offered when closing (the outcome stays free text).
OUTCOMES = (
    _l("Réponse apportée"),
    _l("Demande satisfaite"),
    _l("Demande rejetée"),
    _l("Sans suite"),
)


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
REFUSED_KEPT_SECONDS = 3600


class CasesView(BaseView):
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
        ),
        "access",
    )

    # --- reading -------------------------------------------------------------------------

    @expose("/")
    @has_access
    def inbox(self) -> str:
        agent = current_user
        if not directory_access.handles_cases(agent):
            return self.render_template("agent/no_office.html")
        page = inbox.load_page(agent, request.args)
        return self.render_template(
            "agent/inbox.html",
            page=page,
            tabs=inbox.TABS,
            sorts=inbox.SORTS,
            ages=inbox.AGES,
            channels=list(Channel),
            unassigned=inbox.UNASSIGNED,
            count_label=inbox.count_label,
            row=inbox.RowText(utcnow()),
        )

    def _case_or_404(self, case_id: int, *, for_update: bool = False) -> Case:
        case = access.case_for_agent(current_user, case_id, for_update=for_update)
        if case is None:
            abort(404)
        return case

    @expose("/<int:case_id>")
    @has_access
    def show(self, case_id: int) -> str:
        agent = current_user
        case = self._case_or_404(case_id)
        operations.log_access(
            agent=agent,
            object_kind="case",
            object_id=case.id,
            taxpayer_id=case.taxpayer_id,
            case_id=case.id,
            reason=_("Traitement de la demande"),
        )
        operations.mark_read_by_office(case)
        refused = self._refused_input(case)
        if refused is not None:
            form, error, values = refused
            flash(error.message, "danger")
            html = self._render_case(case, form=form, error=error, values=values)
            db.session.commit()
            return html
        # The template variable chooser also works without JavaScript: ?modele=<id>.
        html = self._render_case(case, values={"body": self._template_body(case)})
        # The page goes out only once the access log is committed; rendering first means
        # nothing loaded for it (the agent, their roles, the request) is expired and reloaded.
        db.session.commit()
        return html

    def _template_body(self, case: Case) -> str:
        template_id = int_or_none(request.args.get("modele"))
        if template_id is None:
            return ""
        template = db.session.scalar(
            select(ReplyTemplate).where(
                ReplyTemplate.id == template_id, directory_access.templates_usable_by(current_user)
            )
        )
        return thread.fill_template(template.body, case) if template else ""

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
        page = thread.load(current_user, case)
        # One-time tokens of the message and note forms; the form sent again keeps its own.
        tokens = {name: secrets.token_hex(16) for name in ("message", "note")}
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
            outcomes=OUTCOMES,
            human_size=human_size,
            now=utcnow(),
            presence_ttl=presence.TTL_SECONDS,
        )
        return (html, status) if status != 200 else html

    def _failed(self, case_id: int, form: str, error: operations.OperationError) -> Any:
        """Nothing was applied: show the page again with the message and what was typed."""
        db.session.rollback()
        if isinstance(error, operations.StaleCase):
            flash(error.message, "warning")
            return redirect(url_for("CasesView.show", case_id=case_id))
        case = self._case_or_404(case_id)
        # The refusal page shows nothing of the request (issue 20, finding 11): the message,
        # and a link back to the request's page (a logged reading) with what was typed.
        typed = {key: request.form.get(key, "") for key in request.form if key != "csrf_token"}
        kept = drafts.keep(
            {
                **typed,
                REFUSED_CASE: str(case.id),
                REFUSED_FORM: form,
                REFUSED_MESSAGE: error.message,
                REFUSED_FIELD: error.field or "",
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

    def _refused_input(self, case: Case) -> tuple[str, operations.OperationError, dict] | None:
        """What a refused form held, when the page is opened from its refusal (``?saisie=``)."""
        draft_id = request.args.get("saisie")
        kept = drafts.take(draft_id[:64]) if draft_id else None
        if not kept or kept.pop(REFUSED_CASE, "") != str(case.id):
            return None
        form = kept.pop(REFUSED_FORM, "")
        error = operations.OperationError(
            kept.pop(REFUSED_MESSAGE, ""), field=kept.pop(REFUSED_FIELD, "") or None
        )
        return form, error, kept

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
                agent=current_user,
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
                        directory_access.agents_assignable_by(current_user),
                    )
                )
                if assignee is None:
                    raise operations.OperationError(
                        _("Choisissez un agent du service."), field="assignee_id"
                    )
            operations.assign_case(
                agent=current_user,
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
                agent=current_user,
                case=case,
                outcome=request.form.get("outcome", ""),
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
                agent=current_user,
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
                agent=current_user,
                case=case,
                to_office=to_office,
                reason=request.form.get("reason", ""),
                expected_version=int_or_none(request.form.get("expected_version")),
            )
            name = to_office.name if to_office else ""
            db.session.commit()
        except operations.OperationError as error:
            return self._failed(case_id, "transfer", error)
        # The request now belongs to the other office: its page is no longer ours.
        presence.leave(case_id, current_user.id)
        flash(_("La demande a été transmise à %(office)s.", office=name), "success")
        return redirect(url_for("CasesView.inbox"))

    @expose("/<int:case_id>/prendre-en-compte", methods=["POST"])
    @has_access
    def acknowledge(self, case_id: int) -> Any:
        case = self._case_or_404(case_id, for_update=True)
        try:
            operations.acknowledge_transfer(agent=current_user, case=case)
            db.session.commit()
        except operations.OperationError as error:
            return self._failed(case_id, "acknowledge", error)
        return self._done(case_id, _("La transmission a été prise en compte."))

    # --- messages (appended, never refused as stale) ----------------------------------------

    @expose("/<int:case_id>/repondre", methods=["POST"])
    @has_access
    def message(self, case_id: int) -> Any:
        agent = current_user
        case = self._case_or_404(case_id, for_update=True)
        token = _token()
        if _already_sent(token):
            flash(_("Ce message a déjà été envoyé."), "info")
            return redirect(url_for("CasesView.show", case_id=case_id))
        kind = request.form.get("kind", "reponse")
        close = kind == "reponse" and request.form.get("close") == "1"
        newer = thread.newer_messages_by_others(
            case, agent, int_or_none(request.form.get("last_message_id"))
        )
        try:
            if kind == "precision":
                operations.request_information(
                    agent=agent,
                    case=case,
                    body=request.form.get("body", ""),
                    files=_files(),
                    submission_token=token,
                )
                done = _("Votre demande de précision a été envoyée à l'usager.")
            else:
                outcome = request.form.get("outcome", "").strip()
                if close and not outcome:
                    raise operations.OperationError(
                        _("Indiquez l'issue de la demande pour la clôturer."), field="outcome"
                    )
                operations.reply_to_case(
                    agent=agent,
                    case=case,
                    body=request.form.get("body", ""),
                    files=_files(),
                    close=close,
                    outcome=outcome or None,
                    submission_token=token,
                )
                done = (
                    _("Votre réponse a été envoyée à l'usager et la demande clôturée.")
                    if close
                    else _("Votre réponse a été envoyée à l'usager.")
                )
            db.session.commit()
        except IntegrityError:
            return self._double_submit(case_id)
        except operations.OperationError as error:
            return self._failed(case_id, "message", error)
        self._tell_newer(newer)
        return self._done(case_id, done)

    @expose("/<int:case_id>/note", methods=["POST"])
    @has_access
    def note(self, case_id: int) -> Any:
        agent = current_user
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
        agent = current_user
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
        agent = current_user
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
