"""Failed e-mail alerts for administrators: what the outbox gave up on, and a retry button.

An alert is marked failed when the SMTP server refuses its address for good (5xx) or after the
last of its attempts (jobs.notifications). Retrying puts it back in the outbox as due now, with a
fresh budget of attempts, and queues it once the change is committed.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import select

from app.directory import access
from app.notifications.outbox import SEND_JOB, outbox_status, send_job_id
from app.platform.params import page_number
from app.platform.queue import enqueue_after_commit
from models import Notification, NotificationStatus, db, utcnow
from views.admin.common import FailedItemsView

PAGE_SIZE = 100


class FailedAlertsView(FailedItemsView):
    route_base = "/referentiel/alertes-en-echec"
    class_permission_name = "FailedAlerts"
    template = "admin/failed_alerts.html"

    @staticmethod
    def may(user: Any) -> bool:
        return access.may_handle_failed_alerts(user)

    @expose("/")
    @has_access
    def index(self) -> Any:
        self.signed_in_allowed()
        page = page_number(request.args.get("page"), last=10000)
        rows = list(
            db.session.scalars(
                select(Notification)
                .where(Notification.status == NotificationStatus.FAILED)
                .order_by(Notification.created_at.desc(), Notification.id.desc())
                .limit(PAGE_SIZE + 1)
                .offset((page - 1) * PAGE_SIZE)
            )
        )
        return self.render_template(
            self.template,
            title=_("Alertes en échec"),
            outbox=outbox_status(),
            rows=rows[:PAGE_SIZE],
            page=page,
            has_next=len(rows) > PAGE_SIZE,
        )

    @expose("/<int:notification_id>/relancer", methods=["POST"])
    @has_access
    def retry(self, notification_id: int) -> Any:
        self.signed_in_allowed()
        notification = db.session.scalar(
            select(Notification).where(Notification.id == notification_id).with_for_update()
        )
        if notification is None:
            abort(404)
        if notification.status is not NotificationStatus.FAILED:
            flash(_("Cette alerte n'est plus en échec : elle a déjà été relancée."), "info")
            return self.back_to_list()
        notification.status = NotificationStatus.PENDING
        notification.next_attempt_at = utcnow()
        notification.locked_at = None
        notification.attempts = 0
        enqueue_after_commit(SEND_JOB, notification.id, job_id=send_job_id(notification.id, 0))
        db.session.commit()
        flash(
            _("L'alerte destinée à %(recipient)s est relancée.", recipient=notification.recipient),
            "success",
        )
        return self.back_to_list()
