"""The taxpayer's summary sheet (fiche de synthèse): every opening is logged with its reason."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, request, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import gettext as _

from app.cases import operations, summary
from app.fab.security import signed_in
from app.platform.params import int_or_none
from models import Channel, db
from views.contacts.guard import PERMISSION, agents_only

REASON_MAX = 255


def _date(value: str, label: str, errors: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(_("La date « %(label)s » n'est pas valide (jj/mm/aaaa).", label=label))
        return None


def _filters(args: Any) -> tuple[summary.Filters, dict[str, str], list[str]]:
    raw = {key: (args.get(key) or "").strip() for key in ("channel", "office", "from", "to")}
    errors: list[str] = []
    channel = {member.value: member for member in Channel}.get(raw["channel"])
    if channel is None:
        raw["channel"] = ""
    office_id = int_or_none(raw["office"])
    date_from = _date(raw["from"], _("du"), errors)
    date_to = _date(raw["to"], _("au"), errors)
    if date_from and date_to and date_from > date_to:
        errors.append(_("La période est inversée : la date de début suit la date de fin."))
        date_from = date_to = None
    return (
        summary.Filters(channel=channel, office_id=office_id, date_from=date_from, date_to=date_to),
        raw,
        errors,
    )


class SummaryView(BaseView):
    route_base = "/agent/usagers"
    class_permission_name = "TaxpayerSummary"
    base_permissions = [PERMISSION]
    default_view = "summary"

    @expose("/<int:taxpayer_id>/synthese")
    @agents_only
    def summary(self, taxpayer_id: int) -> str:
        agent = signed_in()
        taxpayer = summary.taxpayer_for_agent(agent, taxpayer_id)
        if taxpayer is None:
            abort(404)
        reason = " ".join((request.args.get("reason") or "").split())[:REASON_MAX]
        if not reason:
            # The law requires a reason for every consultation: ask before showing anything.
            return self.render_template("contacts/reason.html", taxpayer_id=taxpayer_id)
        filters, raw, errors = _filters(request.args)
        cursor = summary.Cursor.decode(request.args.get("after"))
        page = summary.timeline(agent, taxpayer, filters=filters, cursor=cursor)
        kept = {key: value for key, value in raw.items() if value}
        labels = summary.Labels()
        # The first page of the unfiltered timeline starts with the last contact.
        newest: Any = summary.UNKNOWN
        if cursor is None and filters == summary.Filters():
            newest = page.entries[0].case if page.entries else None
        glance = summary.glance(taxpayer, newest=newest)

        def link(**extra: str) -> str:
            params: dict[str, Any] = {
                "taxpayer_id": taxpayer_id,
                "reason": reason,
                **kept,
                **extra,
            }
            return url_for("SummaryView.summary", **params)

        rendered = self.render_template(
            "contacts/summary.html",
            taxpayer=taxpayer,
            reason=reason,
            glance=glance,
            open_lines=labels.open_lines(glance.open_cases),
            offices=summary.offices_of(taxpayer),
            labels=labels,
            page=page,
            lines=labels.lines(page.rows),
            channels=list(Channel),
            filters=raw,
            filtered=bool(kept),
            errors=errors,
            first_page=cursor is None,
            first_link=link(),
            next_link=link(after=page.next_cursor.encode()) if page.next_cursor else None,
            reset_link=url_for("SummaryView.summary", taxpayer_id=taxpayer_id, reason=reason),
            new_contact_link=url_for("ContactView.new", taxpayer=taxpayer_id),
        )
        # The opening is logged with its reason; the sheet is shown only once the log is
        # committed (and rendering first means nothing rendered is expired and reloaded).
        operations.log_access(
            agent=agent,
            object_kind="summary",
            object_id=taxpayer_id,
            taxpayer_id=taxpayer_id,
            reason=reason,
        )
        db.session.commit()
        return rendered
