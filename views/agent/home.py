"""The agent's home in e-contacts."""

from __future__ import annotations

from flask import redirect
from flask_appbuilder import IndexView, expose
from flask_login import current_user
from werkzeug.wrappers import Response

from app.directory import access
from app.notifications.outbox import outbox_status


class AgentIndexView(IndexView):
    route_base = "/agent"
    index_template = "agent/index.html"

    @expose("/")
    def index(self) -> str | Response:
        if not current_user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        outbox = None
        if access.is_admin(current_user):
            outbox = outbox_status()
        return self.render_template(
            self.index_template,
            agent=current_user,
            handles_cases=access.handles_cases(current_user),
            outbox=outbox,
        )
