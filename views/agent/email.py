"""An e-mail's case (channel ``email``, app.mailbox): answer the sender by e-mail, or make it a
request of the taxpayer's space. Same rules as the case's page: loaded through
``app.cases.access`` (404 otherwise), one operation, one commit, redirect. The answer is checked
by the guide (``app.cases.guidance``) like the reply form, through the same path
(``views.agent.cases.CaseForms``): warnings shown, draft kept, « Envoyer quand même »."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from app.cases import operations
from app.mailbox import intake
from app.mailbox import operations as mailbox_operations
from app.platform.params import int_or_none
from models import db
from views.agent.cases import PERMISSION, CaseForms, _already_sent, _token


class CaseEmailView(CaseForms, BaseView):
    route_base = "/agent/demandes"
    class_permission_name = PERMISSION
    default_view = "answer"
    method_permission_name = {"answer": "access", "convert": "access"}

    def _refused(self, case_id: int, error: operations.OperationError) -> Any:
        """Nothing was applied (an empty answer, a case no longer open to it): say why."""
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("CasesView.show", case_id=case_id))

    @expose("/<int:case_id>/courriel/repondre", methods=["POST"])
    @has_access
    def answer(self, case_id: int) -> Any:
        case = self._case_or_404(case_id, for_update=True)
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
                warnings_confirmed=request.form.get("confirm_warnings") == "1",
            )
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            flash(_("Ce message a déjà été envoyé."), "info")
            return redirect(url_for("CasesView.show", case_id=case_id))
        except operations.NeedsConfirmation as error:
            db.session.rollback()
            return self._check_warnings(case_id, error, held=[], form="email")
        except operations.OperationError as error:
            return self._failed(case_id, "email", error)
        flash(
            _("Votre réponse part par courriel à l'expéditeur ; elle est dans le fil."), "success"
        )
        return redirect(url_for("CasesView.show", case_id=case_id))

    @expose("/<int:case_id>/courriel/convertir", methods=["POST"])
    @has_access
    def convert(self, case_id: int) -> Any:
        case = self._case_or_404(case_id, for_update=True)
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
