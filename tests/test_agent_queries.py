"""No query per row: the inbox and a case's page run as many queries for few rows as for many."""

from __future__ import annotations

from factories import World, make_agent, make_case
from flask import Flask
from flask.testing import FlaskClient
from helpers import count_queries
from test_agent_support import (
    case_with_thread,
    clean_presence,  # noqa: F401
)

from app.cases import operations
from models import db


def _inbox_cases(world: World, count: int) -> None:
    for n in range(count):
        case = make_case(world.taxpayer_a if n % 2 else world.taxpayer_b, world.office_a)
        case.assignee = world.agent_a if n % 3 else world.manager_a
    db.session.commit()


def _queries(app: Flask, client: FlaskClient, url: str) -> list[str]:
    client.get(url)  # warm up (FAB's permission caches)
    with count_queries(app) as statements:
        assert client.get(url).status_code == 200
    return statements


def test_the_inbox_runs_the_same_queries_for_5_and_50_rows(
    app: Flask, world: World, agent_a_client: FlaskClient
) -> None:
    make_agent(world.office_a, "agent")
    _inbox_cases(world, 5)
    few = _queries(app, agent_a_client, "/agent/demandes/?onglet=ouvertes")
    _inbox_cases(world, 45)
    many = _queries(app, agent_a_client, "/agent/demandes/?onglet=ouvertes")
    assert len(few) == len(many), "\n".join(many)
    assert len(many) <= 30
    # Keyset pages, no OFFSET (SQLAlchemy writes "LIMIT ? OFFSET 0" on SQLite: look on PG).
    if app.extensions["sqlalchemy"].engines[None].dialect.name == "postgresql":
        assert not any(" OFFSET " in s.upper() for s in many)
    # No unbounded COUNT: every count is over a LIMITed subquery.
    counts = [s for s in many if "count(" in s.lower()]
    assert counts and all(s.count("LIMIT") == s.lower().count("count(") for s in counts)


def test_a_case_page_runs_the_same_queries_for_3_and_30_messages(
    app: Flask, world: World, agent_a_client: FlaskClient
) -> None:
    # Same authors on both (SQLAlchemy skips a load when the rows are already in the session).
    small = case_with_thread(world.taxpayer_a, world.office_a, world.manager_a, 3)
    big = case_with_thread(world.taxpayer_a, world.office_a, world.manager_a, 30)
    for case in (small, big):
        operations.transfer_case(
            agent=world.manager_a, case=case, to_office=world.office_b, reason="Aller vers B."
        )
        db.session.flush()
        case.office_id = world.office_a.id  # and back, so that transfers are shown too
    db.session.commit()
    few = _queries(app, agent_a_client, f"/agent/demandes/{small.id}")
    many = _queries(app, agent_a_client, f"/agent/demandes/{big.id}")
    assert len(few) == len(many), "\n".join(many)
