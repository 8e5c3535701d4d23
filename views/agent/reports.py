"""Difficulty reports (``/agent/signalements/``): any agent reports from any page; the
correspondents of the directorate answer, close or raise; administrators answer what is raised.

Every route reads through ``app.correspondents.access`` (a report the user may not see is a
404), writes through ``app.correspondents.operations``, commits once and redirects."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from app.correspondents import access, operations
from app.directory.access import is_admin
from models import DifficultyReport, Event, EventKind, ReportStatus, ReportTheme, db

PERMISSION = "AgentReports"
LIST_LIMIT = 100
TABS = ("miens", "direction", "national")


class ReportsView(BaseView):
    route_base = "/agent/signalements"
    class_permission_name = PERMISSION
    default_view = "index"
    method_permission_name = dict.fromkeys(
        ("index", "new", "create", "show", "answer", "close", "raise_"), "access"
    )

    @expose("/")
    @has_access
    def index(self) -> str:
        user = current_user
        directorate_id = access.correspondent_directorate_id(user)
        tabs = ["miens"]
        if directorate_id is not None:
            tabs.append("direction")
        if is_admin(user):
            tabs.append("national")
        tab = request.args.get("onglet", "")
        if tab not in tabs:
            tab = tabs[-1]
        query = (
            select(DifficultyReport)
            .where(access.reports_visible_to(user, directorate_id=directorate_id))
            .options(selectinload(DifficultyReport.reporter), selectinload(DifficultyReport.office))
            .order_by(DifficultyReport.reported_at.desc(), DifficultyReport.id.desc())
            .limit(LIST_LIMIT)
        )
        if tab == "miens":
            query = query.where(DifficultyReport.reporter_id == user.id)
        elif tab == "direction":
            query = query.where(DifficultyReport.directorate_id == directorate_id)
        else:
            query = query.where(
                DifficultyReport.raised_at.is_not(None) | DifficultyReport.directorate_id.is_(None)
            )
        if request.args.get("etat") == "ouverts":
            query = query.where(DifficultyReport.status != ReportStatus.CLOSED)
        return self.render_template(
            "agent/reports.html",
            reports=db.session.scalars(query).all(),
            tabs=tabs,
            tab=tab,
            only_open=request.args.get("etat") == "ouverts",
            limit=LIST_LIMIT,
        )

    def _form(self, values: dict[str, str], error: operations.ReportError | None = None) -> Any:
        html = self.render_template(
            "agent/report_new.html",
            themes=list(ReportTheme),
            values=values,
            error=error.message if error else "",
            error_field=(error.field or "") if error else "",
            may_report=access.may_report(current_user),
        )
        return (html, 400) if error else html

    @expose("/nouveau")
    @has_access
    def new(self) -> Any:
        page = operations.page_path(request.args.get("page") or request.referrer or "")
        return self._form({"page_url": page})

    @expose("/nouveau", methods=["POST"])
    @has_access
    def create(self) -> Any:
        form = request.form
        try:
            report = operations.file_report(
                agent=current_user,
                theme=form.get("theme"),
                description=form.get("description"),
                page_url=form.get("page_url"),
                reference=form.get("reference"),
            )
            db.session.commit()
        except operations.ReportError as error:
            db.session.rollback()
            return self._form(
                {key: form.get(key, "") for key in form if key != "csrf_token"}, error
            )
        flash(
            _("Votre signalement est envoyé aux correspondants de votre direction.")
            if report.directorate_id
            else _("Votre signalement est envoyé au niveau national."),
            "success",
        )
        return redirect(url_for("ReportsView.show", report_id=report.id))

    def _report_or_404(self, report_id: int, *, for_update: bool = False) -> DifficultyReport:
        report = access.report_for(current_user, report_id, for_update=for_update)
        if report is None:
            abort(404)
        return report

    def _render(self, report: DifficultyReport, error: operations.ReportError | None = None) -> Any:
        events = db.session.scalars(
            select(Event)
            .where(
                Event.kind.in_(
                    (
                        EventKind.REPORT_FILED,
                        EventKind.REPORT_ANSWERED,
                        EventKind.REPORT_RAISED,
                        EventKind.REPORT_CLOSED,
                    )
                ),
                Event.case_id.is_(None),
                Event.data["report_id"].as_integer() == report.id,
            )
            .options(selectinload(Event.actor_agent))
            .order_by(Event.created_at, Event.id)
        ).all()
        user = current_user
        html = self.render_template(
            "agent/report.html",
            report=report,
            history=events,
            may={action: access.may(user, action, report) for action in access.ACTIONS},
            error=error.message if error else "",
            error_field=(error.field or "") if error else "",
            values=request.form if error else {},
        )
        return (html, 400) if error else html

    @expose("/<int:report_id>")
    @has_access
    def show(self, report_id: int) -> Any:
        return self._render(self._report_or_404(report_id))

    def _act(self, report_id: int, done: str, action: Any) -> Any:
        report = self._report_or_404(report_id, for_update=True)
        try:
            action(report)
            db.session.commit()
        except operations.ReportError as error:
            db.session.rollback()
            return self._render(self._report_or_404(report_id), error)
        flash(done, "success")
        return redirect(url_for("ReportsView.show", report_id=report_id))

    @expose("/<int:report_id>/repondre", methods=["POST"])
    @has_access
    def answer(self, report_id: int) -> Response:
        close = request.form.get("close") == "1"
        return self._act(
            report_id,
            _("Votre réponse est enregistrée et le signalement clôturé.")
            if close
            else _("Votre réponse est enregistrée."),
            lambda report: operations.answer_report(
                agent=current_user, report=report, answer=request.form.get("answer"), close=close
            ),
        )

    @expose("/<int:report_id>/cloturer", methods=["POST"])
    @has_access
    def close(self, report_id: int) -> Response:
        return self._act(
            report_id,
            _("Le signalement est clôturé."),
            lambda report: operations.close_report(agent=current_user, report=report),
        )

    @expose("/<int:report_id>/remonter", methods=["POST"])
    @has_access
    def raise_(self, report_id: int) -> Response:
        return self._act(
            report_id,
            _("Le signalement est remonté au niveau national."),
            lambda report: operations.raise_report(
                agent=current_user, report=report, reason=request.form.get("reason")
            ),
        )
