"""Full-text search scoped by office (decision 0016): messages carry their request's office,
moved with it on a transfer; the composite GIN indexes serve the search; an existing base is
converted by the migration. PostgreSQL only (SQLite searches with LIKE)."""

from __future__ import annotations

import pytest
from factories import World, make_case
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text
from test_agent_support import (
    clean_presence,  # noqa: F401
    taxpayer_message,
    text_of,
)

from app.cases import operations
from models import Message, db

pytestmark = pytest.mark.postgres


def _found(client: FlaskClient, query: str, case: object) -> bool:
    response = client.get("/agent/recherche/", query_string={"q": query})
    assert response.status_code == 200
    return f'href="/agent/demandes/{case.id}"' in text_of(response)  # type: ignore[attr-defined]


def _offices(case_id: int) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(Message.office_id).where(Message.case_id == case_id)))


def test_results_follow_the_request_after_a_transfer(
    world: World, agent_a_client: FlaskClient, agent_b_client: FlaskClient
) -> None:
    case = make_case(world.taxpayer_a, world.office_a, subject="Question")
    taxpayer_message(case, world.taxpayer_a, "Je demande une remise gracieuse des pénalités.")
    operations.add_note(agent=world.agent_a, case=case, body="Voir la charpente du bûcheron.")
    db.session.commit()
    assert _offices(case.id) == {world.office_a.id}
    for query in ("remise gracieuse", "pénalité", "bucheron"):
        assert _found(agent_a_client, query, case), query
        assert not _found(agent_b_client, query, case), query

    operations.transfer_case(
        agent=world.agent_a, case=case, to_office=world.office_b, reason="Compétence du SIE"
    )
    db.session.commit()
    assert _offices(case.id) == {world.office_b.id}
    for query in ("remise gracieuse", "pénalité", "bucheron"):
        assert _found(agent_b_client, query, case), query
        assert not _found(agent_a_client, query, case), query
    # A message written after the transfer is in the receiving office too.
    taxpayer_message(case, world.taxpayer_a, "Voici mon relevé de compte.")
    db.session.commit()
    assert _offices(case.id) == {world.office_b.id}
    assert _found(agent_b_client, "relevé compte", case)


def test_a_message_written_without_its_office_gets_its_request_s(app: Flask, world: World) -> None:
    case = make_case(world.taxpayer_a, world.office_b)
    message = Message(case_id=case.id, author_kind="taxpayer", body="Sans service")
    db.session.add(message)
    db.session.commit()
    assert message.office_id == world.office_b.id


def test_the_search_reads_the_office_index(app: Flask, world: World) -> None:
    """With sequential scans off, the message side of the search uses the composite index."""
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        row[0]
        for row in db.session.execute(
            text(
                "EXPLAIN SELECT case_id FROM message WHERE office_id = :office AND "
                "to_tsvector('french'::regconfig, f_unaccent(body)) @@ "
                "websearch_to_tsquery('french'::regconfig, f_unaccent(:q))"
            ),
            {"office": world.office_a.id, "q": "remise gracieuse"},
        )
    )
    db.session.rollback()
    assert "ix_message_office_body_fts" in plan, plan


def test_the_migration_converts_an_existing_base(app: Flask, world: World) -> None:
    """Back to the schema before it, messages without an office; upgraded, each has its own."""
    first = make_case(world.taxpayer_a, world.office_a)
    second = make_case(world.taxpayer_a, world.office_b)
    for case in (first, second):
        taxpayer_message(case, world.taxpayer_a, "Un message d'avant la migration.")
    db.session.commit()
    expected = {first.id: world.office_a.id, second.id: world.office_b.id}
    db.session.remove()
    downgrade(revision="e5a1c7d93b20")
    try:
        columns = db.session.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_name='message'")
        ).scalars()
        assert "office_id" not in set(columns)
        db.session.remove()
    finally:
        upgrade()
    for case_id, office_id in expected.items():
        assert _offices(case_id) == {office_id}
    names = set(
        db.session.execute(text("SELECT indexname FROM pg_indexes WHERE tablename='message'"))
        .scalars()
        .all()
    )
    assert "ix_message_office_body_fts" in names and "ix_message_body_fts" not in names
