"""The agents' search: tax number or SIREN, reference, full text (``app.cases.search``)."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.cases import operations, search
from app.directory import access
from app.fab.security import signed_in
from models import db, utcnow
from views.agent import inbox


class SearchView(BaseView):
    route_base = "/agent/recherche"
    class_permission_name = "AgentSearch"
    default_view = "search"
    method_permission_name = {"search": "access"}

    @expose("/")
    @has_access
    def search(self) -> str | Response:
        agent = signed_in()
        if not access.handles_cases(agent):
            return self.render_template("agent/no_office.html")
        results = search.search(
            agent,
            request.args.get("q"),
            period=request.args.get("periode"),
            after=request.args.get("apres"),
        )
        if results.mode == "reference" and len(results.cases) == 1:
            # An exact reference opens the case (its page logs the consultation).
            db.session.rollback()
            return redirect(url_for("CasesView.show", case_id=results.cases[0].id))
        html = self.render_template(
            "agent/search.html",
            results=results,
            limit=search.RESULT_LIMIT,
            periods=search.PERIODS,
            row=inbox.RowText(utcnow()),
        )
        # Every taxpayer the page shows is a consultation of their data: found by their
        # identifier, or named in a case the search listed.
        logged = operations.log_taxpayers_seen(
            agent=agent,
            taxpayer_ids=[taxpayer.id for taxpayer in results.taxpayers],
            object_kind="search",
            reason=_("Recherche par identifiant"),
        )
        logged += operations.log_taxpayers_seen(
            agent=agent,
            taxpayer_ids=[case.taxpayer_id for case in results.cases],
            object_kind="search_results",
            reason=_("Résultats de recherche"),
        )
        if logged:
            db.session.commit()
        return html
