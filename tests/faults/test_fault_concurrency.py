"""Two people acting on the same case at the same moment: the outcome is one that could have
happened one after the other.

Each actor runs in its own thread, app context, database session and connection, as two app
servers would. The interleaving is forced: the first actor has written (flushed) and not yet
committed when the second one reads the case and acts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from factories import World, make_agent, make_case, make_topic
from faultkit import report
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from app.cases import operations
from models import (
    Agent,
    AuthorKind,
    Case,
    CaseStatus,
    Event,
    EventKind,
    Message,
    Taxpayer,
    Topic,
    db,
    utcnow,
)


@pytest.fixture(autouse=True)
def _postgres_only(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("row locks need PostgreSQL (make faults runs on PostgreSQL)")


@dataclass
class Actor:
    """Runs ``act`` in its own app context; holds its transaction open ``hold`` seconds."""

    app: Flask
    act: Callable[[], Any]
    hold: float = 0.0
    flushed: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""

    def run(self) -> None:
        with self.app.app_context():
            try:
                self.act()
                db.session.flush()
                self.flushed.set()
                time.sleep(self.hold)
                db.session.commit()
                self.outcome = "done"
            except operations.OperationError as refused:
                db.session.rollback()
                self.outcome = f"refused: {refused.message}"
            except DBAPIError as error:
                db.session.rollback()
                self.outcome = f"database error: {type(error.orig).__name__}"
            finally:
                self.flushed.set()
                db.session.remove()


def race(first: Actor, second: Actor) -> None:
    """``first`` writes and holds its transaction; ``second`` starts meanwhile."""
    one = threading.Thread(target=first.run)
    one.start()
    assert first.flushed.wait(10)
    two = threading.Thread(target=second.run)
    two.start()
    one.join(20)
    two.join(20)


def events_of(case_id: int, kind: EventKind) -> int:
    return int(
        db.session.scalar(
            select(func.count(Event.id)).where(Event.case_id == case_id, Event.kind == kind)
        )
    )


def fresh(case_id: int) -> Case:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case is not None
    return case


def test_two_agents_take_the_same_case_at_once(world: World, app: Flask) -> None:
    colleague = make_agent(world.office_a, "agent")
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    case_id, ids = case.id, (world.agent_a.id, colleague.id)

    def take(agent_id: int) -> Callable[[], None]:
        def act() -> None:
            agent = db.session.get(Agent, agent_id)
            mine = db.session.get(Case, case_id)
            assert agent is not None and mine is not None
            operations.take_case(agent=agent, case=mine, expected_version=1)

        return act

    first, second = Actor(app, take(ids[0]), hold=0.5), Actor(app, take(ids[1]))
    race(first, second)
    case = fresh(case_id)
    report(
        "two agents take at once",
        first=first.outcome,
        second=second.outcome[:60],
        assignee_is_first=case.assignee_id == ids[0],
        assigned_events=events_of(case_id, EventKind.ASSIGNED),
        version=case.version,
    )
    assert first.outcome == "done" and second.outcome.startswith("refused")
    assert case.assignee_id == ids[0]
    assert events_of(case_id, EventKind.ASSIGNED) == 1 and case.version == 2


def test_two_agents_close_and_transfer_at_once(world: World, app: Flask) -> None:
    case = make_case(world.taxpayer_a, world.office_a, status=CaseStatus.IN_PROGRESS)
    db.session.commit()
    case_id, agent_id, office_b = case.id, world.agent_a.id, world.office_b.id
    manager_id = world.manager_a.id

    def close() -> None:
        agent, mine = db.session.get(Agent, agent_id), db.session.get(Case, case_id)
        assert agent is not None and mine is not None
        operations.close_case(agent=agent, case=mine, outcome="Répondu", expected_version=1)

    def transfer() -> None:
        from models import Office

        agent, mine = db.session.get(Agent, manager_id), db.session.get(Case, case_id)
        assert agent is not None and mine is not None
        operations.transfer_case(
            agent=agent,
            case=mine,
            to_office=db.session.get(Office, office_b),
            reason="Relève du service des entreprises.",
            expected_version=1,
        )

    first, second = Actor(app, close, hold=0.5), Actor(app, transfer)
    race(first, second)
    case = fresh(case_id)
    report(
        "close and transfer at once",
        first=first.outcome,
        second=second.outcome[:60],
        status=case.status.value,
        office_is_b=case.office_id == office_b,
    )
    assert first.outcome == "done" and second.outcome.startswith("refused")
    assert case.status is CaseStatus.CLOSED and case.office_id == world.office_a.id


def test_a_taxpayer_replies_while_an_agent_closes(world: World, app: Flask) -> None:
    case = make_case(world.taxpayer_a, world.office_a, status=CaseStatus.IN_PROGRESS)
    db.session.commit()
    case_id, agent_id, taxpayer_id = case.id, world.agent_a.id, world.taxpayer_a.id

    def close() -> None:
        agent, mine = db.session.get(Agent, agent_id), db.session.get(Case, case_id)
        assert agent is not None and mine is not None
        operations.close_case(agent=agent, case=mine, outcome="Répondu", expected_version=None)

    def reply() -> None:
        taxpayer, mine = db.session.get(Taxpayer, taxpayer_id), db.session.get(Case, case_id)
        assert taxpayer is not None and mine is not None
        operations.reply_as_taxpayer(taxpayer=taxpayer, case=mine, body="Une précision.")

    first, second = Actor(app, close, hold=0.5), Actor(app, reply)
    race(first, second)
    case = fresh(case_id)
    replies = db.session.scalars(
        select(Message).where(
            Message.case_id == case_id, Message.author_kind == AuthorKind.TAXPAYER
        )
    ).all()
    report(
        "taxpayer replies while agent closes",
        close=first.outcome,
        reply=second.outcome,
        status=case.status.value,
        reopened_events=events_of(case_id, EventKind.REOPENED),
        replies=len(replies),
    )
    assert first.outcome == "done" and second.outcome == "done" and len(replies) == 1
    # Either order is fine, but never a closed case hiding a reply written after its close.
    if case.status is CaseStatus.CLOSED:
        assert case.closed_at is not None and replies[0].created_at <= case.closed_at
    else:
        assert events_of(case_id, EventKind.REOPENED) == 1 and case.unread_by_office


def test_the_same_form_posted_twice_at_once_makes_one_case(world: World, app: Flask) -> None:
    topic = make_topic()
    db.session.commit()
    taxpayer_id, topic_id = world.taxpayer_a.id, topic.id
    results: list[str] = []

    def submit() -> None:
        taxpayer, chosen = db.session.get(Taxpayer, taxpayer_id), db.session.get(Topic, topic_id)
        assert taxpayer is not None
        case = operations.submit_case(
            taxpayer=taxpayer,
            topic=chosen,
            tax_matter=None,
            tax_year=None,
            subject="Double clic",
            body="Le même formulaire, envoyé deux fois.",
            submission_token="same-token-1",
        )
        results.append(case.reference)

    first, second = Actor(app, submit, hold=0.5), Actor(app, submit)
    race(first, second)
    cases = db.session.scalars(select(Case).where(Case.submission_token == "same-token-1")).all()
    # The loser is told by the database (unique token); sent again, it finds the case made.
    with app.app_context():
        again = Actor(app, submit)
        again.run()
    report(
        "same form posted twice at once",
        first=first.outcome,
        second=second.outcome,
        cases_in_db=len(cases),
        resubmit_finds=again.outcome,
    )
    assert len(cases) == 1
    assert first.outcome == "done"
    assert second.outcome in ("done", "database error: UniqueViolation")
    assert results[-1] == cases[0].reference


def test_a_taxpayer_reply_after_the_close_reopens(world: World, app: Flask) -> None:
    """The serial reference for the race above: close, then reply, within the period."""
    case = make_case(world.taxpayer_a, world.office_a, status=CaseStatus.IN_PROGRESS)
    db.session.commit()
    operations.close_case(agent=world.agent_a, case=case, outcome="Répondu")
    db.session.commit()
    case.closed_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    operations.reply_as_taxpayer(taxpayer=world.taxpayer_a, case=case, body="Une précision.")
    db.session.commit()
    assert fresh(case.id).status is CaseStatus.IN_PROGRESS
    assert events_of(case.id, EventKind.REOPENED) == 1
