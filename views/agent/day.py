""" "Ma journée": what waits for an agent and their office, each a link to the filtered inbox.

Every figure is one capped count of ``views.agent.inbox.capped_counts`` (one query for all);
office managers also see the load per agent (one grouped query and the colleagues' list).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, case, func, select

from app.cases import access
from app.directory import access as directory_access
from models import Agent, Case, CaseStatus, db
from views.agent.inbox import OPEN, capped_counts, count_label, due_limit

DUE_DAYS = 3


@dataclass(frozen=True)
class DayItem:
    key: str
    label: Any
    hint: Any
    args: dict[str, str]


ITEMS: tuple[DayItem, ...] = (
    DayItem(
        "new",
        _l("Nouvelles et non attribuées"),
        _l("À prendre en charge dans le service"),
        {"onglet": "nouvelles"},
    ),
    DayItem(
        "mine_unread",
        _l("Mes demandes avec un nouveau message de l'usager"),
        _l("L'usager a répondu ou écrit depuis votre dernière lecture"),
        {"onglet": "miennes", "non_lue": "1"},
    ),
    DayItem(
        "forwarded",
        _l("Transmises à prendre en compte"),
        _l("Reçues d'un autre service, à confirmer"),
        {"onglet": "transmises"},
    ),
    DayItem(
        "due",
        _l("Échéance dans 3 jours ou dépassée"),
        _l("Demandes ouvertes du service, les plus urgentes d'abord"),
        {"onglet": "ouvertes", "echeance": str(DUE_DAYS), "tri": "echeance"},
    ),
    DayItem(
        "awaiting",
        _l("En attente de l'usager"),
        _l("Une précision a été demandée"),
        {"onglet": "attente"},
    ),
)


@dataclass
class AgentLoad:
    agent: Agent
    open: int = 0
    unread: int = 0
    overdue: int = 0


@dataclass
class MyDay:
    counts: dict[str, int]
    loads: list[AgentLoad] = field(default_factory=list)
    unassigned_open: int = 0

    @property
    def items(self) -> tuple[DayItem, ...]:
        return ITEMS

    def label(self, key: str) -> str:
        return count_label(self.counts[key])

    @staticmethod
    def url(item: DayItem) -> str:
        args: dict[str, Any] = dict(item.args)
        return url_for("CasesView.inbox", **args)


def _clauses(agent: Any, now: datetime) -> dict[str, Any]:
    return {
        "new": and_(OPEN, Case.assignee_id.is_(None)),
        "mine_unread": and_(OPEN, Case.assignee_id == agent.id, Case.unread_by_office.is_(True)),
        "forwarded": Case.awaiting_acknowledgement.is_(True),
        "due": and_(OPEN, Case.due_at < due_limit(now, DUE_DAYS)),
        "awaiting": Case.status == CaseStatus.AWAITING_TAXPAYER,
    }


def load(agent: Any, now: datetime) -> MyDay:
    day = MyDay(counts=capped_counts(agent, _clauses(agent, now)))
    if directory_access.is_office_manager(agent):
        day.loads, day.unassigned_open = _loads(agent, now)
    return day


def _loads(agent: Any, now: datetime) -> tuple[list[AgentLoad], int]:
    """Open cases per assignee of the office, with the unread and overdue among them."""
    rows = db.session.execute(
        select(
            Case.assignee_id,
            func.count(),
            func.sum(case((Case.unread_by_office.is_(True), 1), else_=0), type_=Integer),
            func.sum(case((Case.due_at < now, 1), else_=0), type_=Integer),
        )
        .where(access.cases_visible_to(agent), OPEN)
        .group_by(Case.assignee_id)
    ).all()
    by_agent = {row[0]: row for row in rows}
    colleagues = db.session.scalars(
        select(Agent)
        .where(directory_access.colleagues_of(agent))
        .order_by(Agent.last_name, Agent.first_name)
    )
    loads = []
    for colleague in colleagues:
        row = by_agent.get(colleague.id)
        loads.append(
            AgentLoad(
                agent=colleague,
                open=int(row[1]) if row else 0,
                unread=int(row[2] or 0) if row else 0,
                overdue=int(row[3] or 0) if row else 0,
            )
        )
    unassigned = by_agent.get(None)
    return loads, int(unassigned[1]) if unassigned else 0
