"""E-mails of the offices' mailboxes whose processing failed, for those who manage the mailboxes
(``app.mailbox.access.may_handle_failed_emails``): what the intake gave up on, why in French,
and « Relancer le traitement », which puts the e-mail back on the intake's own job path."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from app.mailbox import access, intake, operations
from app.platform.params import page_number
from models import db
from views.admin.common import FailedItemsView


class FailedEmailsView(FailedItemsView):
    route_base = "/referentiel/courriels-en-echec"
    class_permission_name = "FailedEmails"
    template = "admin/failed_emails.html"

    @staticmethod
    def may(user: Any) -> bool:
        return access.may_handle_failed_emails(user)

    @expose("/")
    @has_access
    def index(self) -> Any:
        self.signed_in_allowed()
        page = page_number(request.args.get("page"), last=10000)
        rows, has_next = intake.failed_emails(page)
        return self.render_template(
            self.template,
            title=_("Courriels en échec"),
            rows=rows,
            page=page,
            has_next=has_next,
        )

    @expose("/<int:inbound_id>/relancer", methods=["POST"])
    @has_access
    def retry(self, inbound_id: int) -> Any:
        user = self.signed_in_allowed()
        try:
            row = operations.retry_failed_email(user=user, inbound_id=inbound_id)
        except LookupError:
            abort(404)
        if row is None:
            flash(_("Ce courriel n'est plus en échec : son traitement a déjà été relancé."), "info")
        else:
            sender = intake.failed_sender(row)
            db.session.commit()
            flash(
                _(
                    "Le traitement du courriel de %(sender)s est relancé : il deviendra une "
                    "demande de la boîte de réception du service.",
                    sender=sender,
                ),
                "success",
            )
        return self.back_to_list()
