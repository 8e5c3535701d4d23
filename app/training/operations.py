"""The training space's writes: the trainee's copy in the training store, and the course record
(``TrainingProgress``, the one real table a training request writes, in its own session)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.directory.access import ROLE_AGENT, ROLE_OFFICE_MANAGER
from app.training import seed, store
from models import Agent, TrainingProgress, db, utcnow

TRAINEE_ROLES = {ROLE_AGENT, ROLE_OFFICE_MANAGER}


@dataclass(frozen=True)
class Trainee:
    """What the training copy takes from the agent's real account (read before switching)."""

    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    roles: frozenset[str]

    @classmethod
    def of(cls, agent: Agent) -> Trainee:
        return cls(
            id=agent.id,
            username=agent.username,
            first_name=agent.first_name,
            last_name=agent.last_name,
            email=agent.email,
            roles=frozenset(agent.role_names),
        )


def enrol(trainee: Trainee) -> Agent:
    """The agent's copy in the training store (same id, an agent of the SIP Formation with their
    case-handling roles, no password): what the training requests sign in as. In the training
    store's session; flushes."""
    office = seed.trainee_office()
    assert office is not None, "the training store is not built"
    role_class = Agent.roles.property.mapper.class_
    wanted = (trainee.roles & TRAINEE_ROLES) or {ROLE_AGENT}
    roles = list(db.session.scalars(select(role_class).where(role_class.name.in_(wanted))))
    copy = db.session.get(Agent, trainee.id)
    if copy is None:
        # FAB's audit columns would name the signed-in user: none in the training store.
        copy = Agent(id=trainee.id, created_by_fk=None, changed_by_fk=None)
        db.session.add(copy)
    copy.username = f"{trainee.username}.formation"
    copy.first_name = trainee.first_name
    copy.last_name = trainee.last_name
    copy.email = trainee.email
    copy.active = True
    copy.password = seed.UNUSABLE_PASSWORD
    copy.office = office
    copy.roles = roles
    db.session.flush()
    return copy


# --- the course record, in the real database --------------------------------------------------


@dataclass(frozen=True)
class Progress:
    exercise: str
    generation: str | None
    subject_id: int | None
    started_at: datetime | None
    checks: int
    completed_at: datetime | None


def _row(session: Session, agent_id: int, exercise: str) -> TrainingProgress | None:
    return session.scalar(
        select(TrainingProgress).where(
            TrainingProgress.agent_id == agent_id, TrainingProgress.exercise == exercise
        )
    )


def progress_of(agent_id: int) -> dict[str, Progress]:
    with store.real_session() as session:
        rows = session.scalars(
            select(TrainingProgress).where(TrainingProgress.agent_id == agent_id)
        ).all()
        return {
            row.exercise: Progress(
                exercise=row.exercise,
                generation=row.generation,
                subject_id=row.subject_id,
                started_at=row.started_at,
                checks=row.checks,
                completed_at=row.completed_at,
            )
            for row in rows
        }


def record_start(
    *, agent_id: int, exercise: str, generation: str | None, subject_id: int, started_at: datetime
) -> None:
    """The agent started (or started again) an exercise; commits the real session."""
    with store.real_session() as session:
        row = _row(session, agent_id, exercise)
        if row is None:
            row = TrainingProgress(agent_id=agent_id, exercise=exercise, checks=0)
            session.add(row)
        row.generation = generation
        row.subject_id = subject_id
        row.started_at = started_at
        session.commit()


def record_check(*, agent_id: int, exercise: str, passed: bool) -> None:
    """One check of the agent's work; the first success is kept; commits the real session."""
    with store.real_session() as session:
        row = _row(session, agent_id, exercise)
        if row is None:
            return
        row.checks = (row.checks or 0) + 1
        if passed and row.completed_at is None:
            row.completed_at = utcnow()
        session.commit()
