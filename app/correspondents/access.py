"""Who may report a difficulty, see a report, answer, close or raise it.

- Any agent bound to an office reports (whatever their role) and sees their own reports.
- The correspondents of a directorate (role ``correspondent``, their office in the directorate's
  subtree) see, answer, close and raise the reports of that directorate.
- Administrators are the national level: they see every report, and answer and close the raised
  ones and those filed where no directorate stands above the office.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true

from app.cases.access import cases_visible_to
from app.directory.access import ROLE_CORRESPONDENT, is_admin, is_correspondent
from models import Case, DifficultyReport, Office, OfficeKind, SteeringLevel, db
from models.agent import Agent, holds_role

ACTIONS = ("answer", "close", "raise")


def directorate_of(office: Office | None) -> Office | None:
    """The nearest office at or above ``office`` whose kind steers at the directorate level."""
    if office is None:
        return None
    ids = [int(part) for part in (office.path or "").strip("/").split("/") if part.isdigit()]
    if office.id not in ids:
        ids.append(office.id)
    found = db.session.scalars(
        select(Office)
        .join(OfficeKind, Office.kind_id == OfficeKind.id)
        .where(Office.id.in_(ids), OfficeKind.steering_level == SteeringLevel.DIRECTORATE)
    ).all()
    return max(found, key=lambda item: len(item.path or ""), default=None)


def may_report(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(getattr(user, "office_id", None))


def correspondent_directorate_id(user: Any) -> int | None:
    """The directorate a correspondent answers for (None: not a correspondent)."""
    if not is_correspondent(user):
        return None
    directorate = directorate_of(user.office)
    return directorate.id if directorate is not None else None


def correspondents_of(directorate: Office) -> list[Agent]:
    """The active correspondents who answer for ``directorate`` (those ``handles`` lets answer
    its reports): role ``correspondent``, their office in its subtree, and no nearer directorate
    in between."""
    candidates = db.session.scalars(
        select(Agent)
        .join(Office, Agent.office_id == Office.id)
        .where(
            Agent.active.is_(True),
            holds_role(ROLE_CORRESPONDENT),
            Office.path.startswith(directorate.path or "/"),
        )
        .order_by(Agent.id)
    ).all()
    return [agent for agent in candidates if correspondent_directorate_id(agent) == directorate.id]


def reports_visible_to(user: Any, *, directorate_id: int | None = None) -> ColumnElement[bool]:
    """The reports a user may list and open, as a WHERE clause on ``DifficultyReport``.
    ``directorate_id``: the user's ``correspondent_directorate_id`` when already known."""
    if not getattr(user, "is_authenticated", False):
        return false()
    if is_admin(user):
        return true()
    clauses = [DifficultyReport.reporter_id == user.id]
    directorate_id = directorate_id or correspondent_directorate_id(user)
    if directorate_id is not None:
        clauses.append(DifficultyReport.directorate_id == directorate_id)
    return or_(*clauses)


def report_for(user: Any, report_id: int, *, for_update: bool = False) -> DifficultyReport | None:
    query = select(DifficultyReport).where(
        DifficultyReport.id == report_id, reports_visible_to(user)
    )
    if for_update:
        query = query.with_for_update()
    return db.session.scalar(query)


def handles(user: Any, report: DifficultyReport) -> bool:
    """The user answers for this report: its directorate's correspondent while it is not
    raised, the national level (administrators) once raised or when it has no directorate."""
    national = report.raised_at is not None or report.directorate_id is None
    if national:
        return is_admin(user)
    return (
        report.directorate_id is not None
        and report.directorate_id == correspondent_directorate_id(user)
    )


def may(user: Any, action: str, report: DifficultyReport) -> bool:
    if action not in ACTIONS or not report.status.is_open or not handles(user, report):
        return False
    if action == "raise":
        return report.directorate_id is not None and report.raised_at is None
    return True


def case_by_reference(user: Any, reference: str) -> Case | None:
    """The request a reference names, only if the user may open it (``app.cases.access``)."""
    # No NUL byte reaches the database (PostgreSQL refuses them in text).
    reference = (reference or "").replace("\x00", "").strip().upper()[:32]
    if not reference:
        return None
    return db.session.scalar(
        select(Case).where(Case.reference == reference, cases_visible_to(user))
    )
