"""The agent's notices: the list, read/unread, mark all read, and the daily digest preference.

Each notice names a case by its reference; opening it goes through the case's page (and
so through ``app.access``): a case that has since left the office is shown without a link.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.cases import access as case_access
from app.cases import notices
from app.directory import access
from app.fab.security import signed_in
from app.platform.params import int_or_none
from models import NoticeKind, db

PERMISSION = "AgentNotices"


class NoticesView(BaseView):
    route_base = "/agent/avis"
    class_permission_name = PERMISSION
    default_view = "list"
    method_permission_name = dict.fromkeys(("list", "open", "read_all", "preferences"), "access")

    @expose("/")
    @has_access
    def list(self) -> Any:
        agent = signed_in()
        if not access.handles_cases(agent):
            return self.render_template("agent/no_office.html")
        unread_only = request.args.get("non_lus") == "1"
        before = int_or_none(request.args.get("avant"))
        rows = notices.page_for(agent, unread_only=unread_only, before=before)
        more = len(rows) > notices.PAGE_SIZE
        rows = rows[: notices.PAGE_SIZE]
        html = self.render_template(
            "agent/notices.html",
            rows=rows,
            more=more,
            next_before=rows[-1].id if more and rows else None,
            unread_only=unread_only,
            first_page=before is None,
            labels={kind: kind.label for kind in NoticeKind},
            digest=notices.wants_digest(agent),
            office_id=agent.office_id,
        )
        db.session.rollback()
        return html

    @expose("/<int:notice_id>/ouvrir", methods=["POST"])
    @has_access
    def open(self, notice_id: int) -> Response:
        agent = signed_in()
        notice = notices.mark_read(agent, notice_id)
        if notice is None:
            abort(404)
        case_id = notice.case_id
        db.session.commit()
        if case_id is not None and case_access.case_for_agent(agent, case_id) is not None:
            return redirect(url_for("CasesView.show", case_id=case_id))
        flash(_("Cette demande n'est plus traitée par votre service."), "info")
        return redirect(url_for("NoticesView.list"))

    @expose("/tout-lire", methods=["POST"])
    @has_access
    def read_all(self) -> Response:
        count = notices.mark_all_read(signed_in())
        db.session.commit()
        flash(_("Tous vos avis sont marqués comme lus (%(n)s).", n=count), "success")
        return redirect(url_for("NoticesView.list"))

    @expose("/preferences", methods=["POST"])
    @has_access
    def preferences(self) -> Response:
        agent = signed_in()
        if not access.handles_cases(agent):
            abort(404)
        wanted = request.form.get("daily_digest") == "1"
        notices.set_digest(agent, wanted)
        db.session.commit()
        flash(
            _("Vous recevrez chaque matin un récapitulatif de vos avis par courriel.")
            if wanted
            else _("Vous ne recevrez plus de récapitulatif par courriel."),
            "success",
        )
        return redirect(url_for("NoticesView.list"))
