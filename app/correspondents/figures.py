"""Steering's view of the reports: how many by directorate and theme, open and in all, within
the subtree the user steers (``app.steering.access``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select

from app.directory.access import is_admin
from app.steering.access import offices_steered_by
from models import DifficultyReport, Office, ReportStatus, ReportTheme, db


@dataclass
class DirectorateReports:
    name: str
    by_theme: dict[ReportTheme, tuple[int, int]] = field(default_factory=dict)  # (open, total)

    @property
    def open(self) -> int:
        return sum(pair[0] for pair in self.by_theme.values())

    @property
    def total(self) -> int:
        return sum(pair[1] for pair in self.by_theme.values())


def by_directorate_and_theme(user: Any) -> list[DirectorateReports]:
    """One grouped query; administrators also see the reports filed with no directorate."""
    open_count = func.sum(case((DifficultyReport.status != ReportStatus.CLOSED, 1), else_=0))
    query = (
        select(Office.name, DifficultyReport.theme, open_count, func.count(DifficultyReport.id))
        .select_from(DifficultyReport)
        .outerjoin(Office, Office.id == DifficultyReport.directorate_id)
        .group_by(Office.name, DifficultyReport.theme)
        .order_by(Office.name)
    )
    if not is_admin(user):
        query = query.where(DifficultyReport.directorate_id.is_not(None), offices_steered_by(user))
    rows: dict[str, DirectorateReports] = {}
    for name, theme, opened, total in db.session.execute(query):
        label = name or ""
        item = rows.setdefault(label, DirectorateReports(name=label))
        item.by_theme[theme] = (int(opened or 0), int(total))
    return list(rows.values())
