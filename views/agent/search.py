"""The agents' search: tax number or SIREN, reference, full text (``app.cases.search``)."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.cases import operations, search
from app.directory import access
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
        agent = current_user
        if not access.handles_cases(agent):
            return self.render_template("agent/no_office.html")
        results = search.search(agent, request.args.get("q"))
        if results.mode == "reference" and len(results.cases) == 1:
            # An exact reference opens the request (its page logs the consultation).
            db.session.rollback()
            return redirect(url_for("CasesView.show", case_id=results.cases[0].id))
        if results.taxpayers:
            # Looking a taxpayer up by their identifier is a consultation of their data.
            for taxpayer in results.taxpayers:
                operations.log_access(
                    agent=agent,
                    object_kind="search",
                    object_id=None,
                    taxpayer_id=taxpayer.id,
                    reason=_("Recherche par identifiant"),
                )
            db.session.commit()
        return self.render_template(
            "agent/search.html",
            results=results,
            limit=search.RESULT_LIMIT,
            row=inbox.RowText(utcnow()),
        )
