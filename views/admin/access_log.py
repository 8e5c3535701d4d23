"""The read log (journal des consultations): who consulted which taxpayer's data, when and why.

Office managers read their office's entries, administrators all of them
(``access.access_log_visible_to``). Read-only: the log is evidence, nothing here changes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Response, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased

from app.directory import access
from app.platform.csvexport import csv_response
from app.platform.params import page_number
from app.platform.templating import PARIS, format_datetime
from models import AccessLog, Agent, Case, Office, Taxpayer, db

PAGE_SIZE = 100
OBJECT_KINDS = {
    "case": _l("Demande"),
    "attachment": _l("Pièce jointe"),
    "summary": _l("Fiche de synthèse"),
    "search": _l("Recherche"),
    "contact": _l("Contact enregistré"),
    "export": _l("Export"),
    "legal_hold": _l("Gel juridique (pose ou levée)"),
}


def object_kind_label(kind: str) -> str:
    label = OBJECT_KINDS.get(kind)
    return str(label) if label is not None else kind


@dataclass
class LogFilters:
    taxpayer: str = ""
    agent: str = ""
    date_from: str = ""
    date_to: str = ""
    object_kind: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> LogFilters:
        page = page_number(args.get("page"), last=10000)
        return cls(
            taxpayer=(args.get("taxpayer") or "").strip()[:20],
            agent=(args.get("agent") or "").strip()[:128],
            date_from=(args.get("date_from") or "").strip()[:10],
            date_to=(args.get("date_to") or "").strip()[:10],
            object_kind=(args.get("object_kind") or "").strip()[:32],
            page=page,
        )

    def query_args(self, **changes: Any) -> dict[str, Any]:
        values = {
            "taxpayer": self.taxpayer,
            "agent": self.agent,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "object_kind": self.object_kind,
            "page": self.page,
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value not in ("", None, 1)}


def _day_start(value: date) -> datetime:
    return datetime.combine(value, time.min, tzinfo=PARIS).astimezone(UTC)


def build_query(user: Any, filters: LogFilters) -> tuple[Select[Any] | None, list[str]]:
    """The log rows the user may read, filtered; (None, errors) when a filter is unusable."""
    errors: list[str] = []
    agent_alias = aliased(Agent)
    query = (
        select(
            AccessLog,
            agent_alias.username,
            agent_alias.first_name,
            agent_alias.last_name,
            Office.name,
            Taxpayer.tax_number,
            Taxpayer.siren,
            Taxpayer.last_name,
            Taxpayer.first_name,
            Case.reference,
        )
        .join(agent_alias, AccessLog.agent_id == agent_alias.id)
        .outerjoin(Office, AccessLog.office_id == Office.id)
        .outerjoin(Taxpayer, AccessLog.taxpayer_id == Taxpayer.id)
        .outerjoin(Case, AccessLog.case_id == Case.id)
        .where(access.access_log_visible_to(user))
    )
    if filters.taxpayer:
        identifier = filters.taxpayer.replace(" ", "")
        taxpayer_id = db.session.scalar(
            select(Taxpayer.id).where(
                or_(Taxpayer.tax_number == identifier, Taxpayer.siren == identifier)
            )
        )
        if taxpayer_id is None:
            errors.append(
                _("Aucun usager n'a le numéro fiscal ou le SIREN « %(id)s ».", id=filters.taxpayer)
            )
        query = query.where(AccessLog.taxpayer_id == taxpayer_id)
    if filters.agent:
        agent_id = db.session.scalar(
            select(Agent.id).where(func.lower(Agent.username) == filters.agent.lower())
        )
        if agent_id is None:
            errors.append(_("Aucun agent n'a l'identifiant « %(agent)s ».", agent=filters.agent))
        query = query.where(AccessLog.agent_id == agent_id)
    start = end = None
    for name, raw in (("date_from", filters.date_from), ("date_to", filters.date_to)):
        if not raw:
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            errors.append(_("Date invalide « %(date)s » (format attendu : AAAA-MM-JJ).", date=raw))
            continue
        if name == "date_from":
            start = _day_start(day)
            query = query.where(AccessLog.created_at >= start)
        else:
            end = _day_start(day + timedelta(days=1))
            query = query.where(AccessLog.created_at < end)
    if start is not None and end is not None and start >= end:
        errors.append(_("La période est vide : la date de début suit la date de fin."))
    if filters.object_kind:
        query = query.where(AccessLog.object_kind == filters.object_kind)
    if errors:
        return None, errors
    return query.order_by(AccessLog.created_at.desc(), AccessLog.id.desc()), errors


def _row(result: Any) -> dict[str, Any]:
    (log, username, first, last, office, tax_number, siren, tp_last, tp_first, reference) = result
    return {
        "created_at": log.created_at,
        "agent": f"{first} {last} ({username})",
        "office": office or "",
        "taxpayer": (
            f"{' '.join(part for part in (tp_first, tp_last) if part)} ({tax_number or siren})"
            if (tax_number or siren)
            else ""
        ),
        "object": object_kind_label(log.object_kind),
        "reference": reference or (str(log.object_id) if log.object_id else ""),
        "reason": log.reason or "",
    }


class AccessLogView(BaseView):
    route_base = "/journal-des-consultations"
    default_view = "index"
    class_permission_name = "AccessLog"
    method_permission_name = {"index": "list", "export": "list"}
    base_permissions = ["can_list"]
    template = "admin/access_log.html"

    @expose("/")
    @has_access
    def index(self) -> Any:
        filters = LogFilters.from_args(request.args)
        query, errors = build_query(current_user, filters)
        rows: list[dict[str, Any]] = []
        has_next = False
        if query is not None:
            results = db.session.execute(
                query.limit(PAGE_SIZE + 1).offset((filters.page - 1) * PAGE_SIZE)
            ).all()
            has_next = len(results) > PAGE_SIZE
            rows = [_row(result) for result in results[:PAGE_SIZE]]
        return self.render_template(
            self.template,
            title=_("Journal des consultations"),
            filters=filters,
            errors=errors,
            rows=rows,
            has_next=has_next,
            object_kinds=[(key, str(label)) for key, label in OBJECT_KINDS.items()],
            whole_log=access.is_admin(current_user),
        )

    @expose("/export.csv")
    @has_access
    def export(self) -> Any:
        filters = LogFilters.from_args(request.args)
        query, errors = build_query(current_user, filters)
        if query is None:
            return Response("\n".join(errors), status=400, mimetype="text/plain")
        header = [
            _("Date"),
            _("Agent"),
            _("Service de l'agent"),
            _("Usager"),
            _("Objet consulté"),
            _("Référence"),
            _("Motif"),
        ]
        statement = query.execution_options(yield_per=500)

        def rows() -> Iterator[list[str]]:
            yield header
            for result in db.session.execute(statement):
                row = _row(result)
                cells = [row[key] for key in ("agent", "office", "taxpayer", "object")]
                yield [format_datetime(row["created_at"]), *cells, row["reference"], row["reason"]]

        stamp = datetime.now(PARIS).strftime("%Y%m%d-%H%M")
        return csv_response(f"journal-consultations-{stamp}.csv", rows())
