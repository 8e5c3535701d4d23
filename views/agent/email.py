"""An e-mail's case (channel ``email``, app.mailbox): answer the sender by e-mail, or make it a
request of the taxpayer's space. Same rules as the case's page: loaded through
``app.cases.access`` (404 otherwise), one operation, one commit, redirect."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from app.cases import access, operations
from app.mailbox import intake
from app.mailbox import operations as mailbox_operations
from app.platform.params import int_or_none
from models import Case, db
from views.agent.cases import PERMISSION, _already_sent, _token


class CaseEmailView(BaseView):
    route_base = "/agent/demandes"
    class_permission_name = PERMISSION
    default_view = "answer"
    method_permission_name = {"answer": "access", "convert": "access"}

    def _case_or_404(self, case_id: int) -> Case:
        case = access.case_for_agent(current_user, case_id, for_update=True)
        if case is None:
            abort(404)
        return case

    def _refused(self, case_id: int, error: operations.OperationError) -> Any:
        """Nothing was applied (an empty answer, a case no longer open to it): say why."""
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("CasesView.show", case_id=case_id))

    @expose("/<int:case_id>/courriel/repondre", methods=["POST"])
    @has_access
    def answer(self, case_id: int) -> Any:
        case = self._case_or_404(case_id)
        token = _token()
        if _already_sent(token):
            flash(_("Ce message a déjà été envoyé."), "info")
            return redirect(url_for("CasesView.show", case_id=case_id))
        try:
            mailbox_operations.answer_by_email(
                agent=current_user,
                case=case,
                email=intake.email_of_case(case.id),
                body=request.form.get("email_body", ""),
                submission_token=token,
            )
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            flash(_("Ce message a déjà été envoyé."), "info")
            return redirect(url_for("CasesView.show", case_id=case_id))
        except operations.OperationError as error:
            return self._refused(case_id, error)
        flash(
            _("Votre réponse part par courriel à l'expéditeur ; elle est dans le fil."), "success"
        )
        return redirect(url_for("CasesView.show", case_id=case_id))

    @expose("/<int:case_id>/courriel/convertir", methods=["POST"])
    @has_access
    def convert(self, case_id: int) -> Any:
        case = self._case_or_404(case_id)
        try:
            operations.convert_to_request(
                agent=current_user,
                case=case,
                expected_version=int_or_none(request.form.get("expected_version")),
            )
            db.session.commit()
        except operations.OperationError as error:
            return self._refused(case_id, error)
        flash(
            _(
                "La demande est désormais dans l'espace de l'usager : il a été prévenu et "
                "poursuit l'échange dans la messagerie sécurisée."
            ),
            "success",
        )
        return redirect(url_for("CasesView.show", case_id=case_id))
