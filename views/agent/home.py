"""The home of e-contacts: each role lands on its own page.

Agents and office managers: "Ma journée" (``views.agent.day``); steering users without an office
to handle: their figures (the steering dashboard); administrators: their home, with the state of
the outbox and of the workers, and how many mailbox e-mails failed.
"""

from __future__ import annotations

from flask import redirect, url_for
from flask_appbuilder import IndexView, expose
from flask_login import current_user
from werkzeug.wrappers import Response

from app.directory import access
from app.fab.security import signed_in
from app.mailbox import access as mailbox_access
from app.mailbox import intake
from app.notifications.outbox import outbox_status
from app.steering import access as steering_access
from models import db, utcnow
from views.agent import day


class AgentIndexView(IndexView):
    route_base = "/agent"
    index_template = "agent/index.html"

    @expose("/")
    def index(self) -> str | Response:
        if not current_user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        agent = signed_in()
        if (
            not access.handles_cases(agent)
            and not access.is_admin(agent)
            and steering_access.may_steer(agent)
        ):
            return redirect(url_for("SteeringView.dashboard"))
        my_day = day.load(agent, utcnow()) if access.handles_cases(agent) else None
        html = self.render_template(
            self.index_template,
            agent=agent,
            handles_cases=access.handles_cases(agent),
            my_day=my_day,
            outbox=outbox_status() if access.is_admin(agent) else None,
            failed_emails=(
                intake.failed_count() if mailbox_access.may_handle_failed_emails(agent) else None
            ),
        )
        db.session.rollback()
        return html
