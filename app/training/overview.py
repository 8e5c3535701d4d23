"""The trainees' progress for administrators (docs/training.md): per agent who may train (an
active agent or office manager of an office), their office, the exercises done out of the
course's, and their last activity. Reads the real database (the course record is there), never
the training store, whatever ``db.session`` answers from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select

from app.training import store
from app.training.exercises import EXERCISES
from app.training.operations import TRAINEE_ROLES
from models import Agent, Office, TrainingProgress

PAGE_SIZE = 50


@dataclass(frozen=True)
class TraineeRow:
    agent_id: int
    first_name: str
    last_name: str
    office_code: str
    office_name: str
    done: int
    started: int
    last_activity: datetime | None


@dataclass(frozen=True)
class Overview:
    rows: list[TraineeRow]
    trainees: int  # agents who may train, in the filter
    finished: int  # of them, those who did every exercise
    page: int
    pages: int


@dataclass(frozen=True)
class OfficeChoice:
    id: int
    code: str
    name: str


def _trainee() -> ColumnElement[bool]:
    role = Agent.roles.property.mapper.class_
    return (
        Agent.active.is_(True)
        & Agent.office_id.is_not(None)
        & Agent.roles.any(role.name.in_(TRAINEE_ROLES))
    )


def offices() -> list[OfficeChoice]:
    """The offices that have agents who may train, by name (the filter's choices)."""
    with store.real_session() as session:
        rows = session.execute(
            select(Office.id, Office.code, Office.name)
            .where(Office.id.in_(select(Agent.office_id).where(_trainee())))
            .order_by(Office.name, Office.code)
        ).all()
    return [OfficeChoice(id=row.id, code=row.code, name=row.name) for row in rows]


def overview(*, office_id: int | None, page: int = 1) -> Overview:
    """One page of the trainees (office, then name), with their progress: three queries (the
    count, those who finished, the page), whatever the number of agents."""
    codes = [exercise.code for exercise in EXERCISES]
    scope = _trainee() if office_id is None else _trainee() & (Agent.office_id == office_id)
    done = func.count(TrainingProgress.completed_at)
    progress = (
        select(
            TrainingProgress.agent_id.label("agent_id"),
            done.label("done"),
            func.count(TrainingProgress.started_at).label("started"),
            func.max(TrainingProgress.started_at).label("last_start"),
            func.max(TrainingProgress.completed_at).label("last_done"),
        )
        .where(TrainingProgress.exercise.in_(codes))
        .group_by(TrainingProgress.agent_id)
        .subquery()
    )
    with store.real_session() as session:
        trainees = session.scalar(select(func.count(Agent.id)).where(scope)) or 0
        finished = (
            session.scalar(
                select(func.count(progress.c.agent_id))
                .join(Agent, Agent.id == progress.c.agent_id)
                .where(scope, progress.c.done >= len(codes))
            )
            or 0
        )
        pages = max(1, -(-trainees // PAGE_SIZE))
        page = min(max(page, 1), pages)
        rows = session.execute(
            select(
                Agent.id,
                Agent.first_name,
                Agent.last_name,
                Office.code,
                Office.name,
                progress.c.done,
                progress.c.started,
                progress.c.last_start,
                progress.c.last_done,
            )
            .join(Office, Office.id == Agent.office_id)
            .outerjoin(progress, progress.c.agent_id == Agent.id)
            .where(scope)
            .order_by(Office.name, Office.code, Agent.last_name, Agent.first_name, Agent.id)
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        ).all()
    return Overview(
        rows=[
            TraineeRow(
                agent_id=row[0],
                first_name=row[1],
                last_name=row[2],
                office_code=row[3],
                office_name=row[4],
                done=row[5] or 0,
                started=row[6] or 0,
                last_activity=max(
                    (moment for moment in (row[7], row[8]) if moment is not None), default=None
                ),
            )
            for row in rows
        ],
        trainees=trainees,
        finished=finished,
        page=page,
        pages=pages,
    )
