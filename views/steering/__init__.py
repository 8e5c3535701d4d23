"""Steering for directorates, delegations and office managers: figures, charts, CSV (FAB).

Routes (all behind FAB's ``can_access`` on ``Steering`` and ``app.steering.access``):

- ``/pilotage/``: the user's own level (a directorate, a delegation, the manager's office;
  for administrators, every root of the tree);
- ``/pilotage/<office_id>``: one office of the user's subtree and its children (404 outside);
- ``/pilotage/export/<table>.csv`` and ``/pilotage/<office_id>/export/<table>.csv``: one table
  as CSV (UTF-8 with BOM, ``;``), streamed; ``demandes`` is the detailed export, one row per
  case. Every page and export takes the period as ``periode=<preset>`` or ``du``/``au``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response, abort, request, url_for
from flask_appbuilder import AppBuilder, BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.correspondents import figures as report_figures
from app.directory.access import is_admin
from app.platform.csvexport import csv_response
from app.platform.replica import read_from_replica
from app.steering import figures as steering
from app.steering.access import may_steer
from models import ReportTheme, utcnow
from views.steering import tables

PERMISSION_VIEW = "Steering"
MENU_NAME = "Pilotage"
# Rows of a long table shown on the page (the CSV export has them all).
PAGE_LIMIT = 100


class SteeringView(BaseView):
    route_base = "/pilotage"
    default_view = "dashboard"
    class_permission_name = PERMISSION_VIEW
    method_permission_name = {"dashboard": "access", "export": "access", "reports": "access"}

    def _figures(self, office_id: int | None) -> tuple[tables.Figures, dict[str, Any]]:
        if not may_steer(current_user):
            abort(404)
        node = steering.resolve_node(current_user, office_id)
        if node is None:
            abort(404)
        period, typed, errors = steering.parse_period(request.args)
        # The figures and exports read from the replica when there is one (decision 0017).
        freshness = read_from_replica()
        figures = tables.Figures(current_user, node, period, utcnow())
        return figures, {"typed": typed, "errors": errors, "freshness": freshness}

    @staticmethod
    def _period_args(figures: tables.Figures, form: dict[str, Any]) -> dict[str, str]:
        if form["errors"]:
            return {}
        period = figures.period
        if period.preset:
            return {"periode": period.preset}
        return {"du": period.first_day.isoformat(), "au": period.last_day.isoformat()}

    @expose("/")
    @expose("/<int:office_id>")
    @has_access
    def dashboard(self, office_id: int | None = None) -> str:
        figures, form = self._figures(office_id)
        keys = tables.available(figures)
        built = {
            key: (
                tables.transfer_reasons(figures, PAGE_LIMIT)
                if key == "motifs-transmission"
                else tables.BUILDERS[key](figures)
            )
            for key in keys
        }
        pairs = built["transmissions"]
        if len(pairs.rows) > PAGE_LIMIT:
            pairs.rows = pairs.rows[:PAGE_LIMIT]
            pairs.truncated = True
        return self.render_template(
            "steering/dashboard.html",
            figures=figures,
            node=figures.node,
            period=figures.period,
            form=form,
            tables=built,
            period_args=self._period_args(figures, form),
            charts=self._charts(figures, built),
            export_url=export_url,
            show_national=is_admin(current_user),
            presets=self._presets(),
            age_buckets=[str(label) for _k, label, *_r in steering.AGE_BUCKETS],
            freshness=form["freshness"],
        )

    @expose("/signalements")
    @has_access
    def reports(self) -> str:
        """The difficulty reports of the directorates the user steers, by theme (issue 19)."""
        if not may_steer(current_user):
            abort(404)
        return self.render_template(
            "steering/reports.html",
            rows=report_figures.by_directorate_and_theme(current_user),
            themes=list(ReportTheme),
        )

    @expose("/export/<string:table>.csv")
    @expose("/<int:office_id>/export/<string:table>.csv")
    @has_access
    def export(self, table: str, office_id: int | None = None) -> Response:
        figures, form = self._figures(office_id)
        if form["errors"]:
            abort(400)
        period = figures.period
        scope = figures.node.office.code if figures.node.office is not None else "national"
        filename = f"pilotage-{table}-{scope}-{period.first_day}-{period.last_day}.csv"
        if table == tables.DETAILED:
            rows: Iterable[list[str]] = _with_headers(
                tables.detailed_headers(), tables.detailed_rows(figures)
            )
            return csv_response(filename, rows)
        if table not in tables.available(figures):
            abort(404)
        return csv_response(filename, tables.BUILDERS[table](figures).csv_rows())

    @staticmethod
    def _presets() -> list[tuple[str, str]]:
        return [
            ("7j", _("7 derniers jours")),
            ("30j", _("30 derniers jours")),
            ("90j", _("90 derniers jours")),
            ("mois", _("Mois en cours")),
            ("mois-precedent", _("Mois précédent")),
            ("annee", _("Année en cours")),
        ]

    @staticmethod
    def _charts(figures: tables.Figures, built: dict[str, tables.Table]) -> dict[str, Any]:
        """The charts' data: the same figures as the tables next to them, each read once."""
        _per_backlog, total_backlog = figures.backlog
        per_handling, _total = figures.handling
        days, received = [], []
        for day, count in figures.series:
            days.append(day.strftime("%d/%m"))
            received.append(count)
        names, shares = [], []
        for group in figures.groups():
            handled = per_handling.get(group.id)
            if handled is not None and handled.on_time_share is not None:
                names.append(group.name)
                shares.append(round(handled.on_time_share or 0, 1))  # 0, not 0.0, as before
        return {
            "volumes": {"labels": days, "values": received, "label": built["evolution"].caption},
            "backlog": {
                "labels": [str(label) for _k, label, *_r in steering.AGE_BUCKETS],
                "values": [total_backlog.buckets[key] for key, *_r in steering.AGE_BUCKETS],
                "label": _("Demandes ouvertes"),
            },
            "ontime": {"labels": names, "values": shares, "label": _("Part dans le délai (%)")},
        }


def _with_headers(headers: list[str], rows: Iterable[list[str]]) -> Iterator[list[str]]:
    yield headers
    yield from rows


def export_url(table: str, node: steering.Node, period_args: dict[str, Any]) -> str:
    if node.office is None:
        return url_for("SteeringView.export", table=table, **period_args)
    return url_for("SteeringView.export", table=table, office_id=node.office.id, **period_args)


def register(appbuilder: AppBuilder) -> None:
    appbuilder.add_view(
        SteeringView,
        MENU_NAME,
        label=_l("Pilotage"),
        icon="fa-bar-chart",
    )
