"""Full-text search scoped by office (decision 0016): messages carry their case's office,
moved with it on a transfer; their stored ``search_vector`` carries the office in its lexemes,
so the GIN index's posting lists are the office's; an existing base is converted by the
migration. PostgreSQL only (SQLite searches with LIKE)."""

from __future__ import annotations

import re

import pytest
from factories import World, make_case
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from sqlalchemy import event, select, text
from test_agent_support import (
    clean_presence,  # noqa: F401
    taxpayer_message,
    text_of,
)

from app.cases import operations, search
from app.platform import partitions
from models import Message, db, utcnow

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
    """The documents' lexemes carry their office: another office's words never match, and with
    sequential scans off the message side of the search uses the GIN index."""
    case = make_case(world.taxpayer_a, world.office_a)
    taxpayer_message(case, world.taxpayer_a, "Demande de remise gracieuse des pénalités.")
    db.session.commit()
    matches = "SELECT count(*) FROM message WHERE search_vector @@ office_tsquery(:office, :q)"
    for office, expected in ((world.office_a.id, 1), (world.office_b.id, 0)):
        found = db.session.scalar(text(matches), {"office": office, "q": "Remise  GRACIEUSE"})
        assert found == expected
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        db.session.execute(
            text("EXPLAIN " + matches.replace("count(*)", "case_id")),
            {"office": world.office_a.id, "q": "bûcheronnage"},
        ).scalars()
    )
    db.session.rollback()
    assert "ix_message_search_vector" in plan, plan


def test_a_transfer_moves_the_search_vector(app: Flask, world: World) -> None:
    """The generated column follows the office: after a transfer the words are the new office's."""
    case = make_case(world.taxpayer_a, world.office_a)
    taxpayer_message(case, world.taxpayer_a, "Question sur la taxe foncière du chalet.")
    db.session.commit()
    vector = "SELECT search_vector::text FROM message WHERE case_id = :case"
    assert f"'{world.office_a.id}:chalet'" in db.session.scalar(text(vector), {"case": case.id})
    db.session.execute(
        text("UPDATE message SET office_id = :office WHERE case_id = :case"),
        {"office": world.office_b.id, "case": case.id},
    )
    assert f"'{world.office_b.id}:chalet'" in db.session.scalar(text(vector), {"case": case.id})
    db.session.rollback()


def test_the_migration_converts_an_existing_base(app: Flask, world: World) -> None:
    """Back to the schema before it, messages without an office; upgraded, each has its own."""
    first = make_case(world.taxpayer_a, world.office_a)
    second = make_case(world.taxpayer_a, world.office_b)
    for case in (first, second):
        taxpayer_message(case, world.taxpayer_a, "Un message d'avant la migration.")
    db.session.commit()
    expected = {first.id: world.office_a.id, second.id: world.office_b.id}
    db.session.remove()
    downgrade(revision="f9d3b6a2c418")  # the revision before this one
    try:
        columns = db.session.execute(
            text(
                "SELECT column_name FROM information_schema.columns WHERE table_name='message' "
                "AND table_schema = current_schema()"
            )
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
    assert "ix_message_search_vector" in names and "ix_message_body_fts" not in names


def test_the_newest_cases_first_then_the_office_index(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word common in the office is found among its newest cases (first pass, which stops
    the search there); a rarer one, absent from them, comes from the GIN index (second pass)."""
    monkeypatch.setattr(search, "RESULT_LIMIT", 1)
    monkeypatch.setattr(search, "WALK_CASES", 2)
    cases = [make_case(world.taxpayer_a, world.office_a) for _ in range(3)]
    for number, case in enumerate(cases):
        words = "chalet" + (" grange" if number == 0 else "")
        taxpayer_message(case, world.taxpayer_a, f"Question sur le {words} n° {number}.")
    db.session.commit()
    newest = max(cases, key=lambda case: (case.received_at, case.id))
    common = search.search(world.agent_a, "chalet")
    assert [case.id for case in common.cases] == [newest.id] and common.truncated
    rare = search.search(world.agent_a, "grange")
    assert [case.id for case in rare.cases] == [cases[0].id] and not rare.truncated
    db.session.rollback()


def test_the_period_prunes_the_older_years_of_messages(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decision 0022: a search of the default period reads no message partition older than
    the period, in either pass (the walk of the newest cases, the windows of the index); the
    whole history reads them all. A rare word is found window by window."""
    monkeypatch.setattr(search, "WALK_CASES", 2)
    cases = [make_case(world.taxpayer_a, world.office_a, age_days=age) for age in (0, 1, 2, 400)]
    for case in cases:
        taxpayer_message(case, world.taxpayer_a, "Question sur le chalet.")
    operations.add_note(agent=world.agent_a, case=cases[3], body="Voir la grange.")
    db.session.commit()
    statements: list[tuple[str, object]] = []

    def grab(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "office_tsquery" in statement:
            statements.append((statement, parameters))

    def plans(**kwargs: object) -> tuple[list[int], str]:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", grab)
        try:
            found = search.search(world.agent_a, "grange", **kwargs)  # type: ignore[arg-type]
        finally:
            event.remove(db.engine, "before_cursor_execute", grab)
        connection = db.session.connection()
        text_of_plans = "\n".join(
            "\n".join(connection.exec_driver_sql("EXPLAIN " + sql, params).scalars())  # type: ignore[arg-type]
            for sql, params in statements
        )
        db.session.rollback()
        return [case.id for case in found.cases], text_of_plans

    found, plan = plans()
    assert found == [cases[3].id]
    assert len(statements) >= 3, "the walk, then the index window by window"
    start = utcnow().year - search.DEFAULT_PERIOD.years  # type: ignore[operator]
    years = {int(year) for year in re.findall(r"message_y(\d{4})", plan)}
    assert years and min(years) >= start, plan
    # DEFAULT holds rows outside the yearly partitions: read only when the period's years are
    # not all partitions of their own (as in this test base, whose partitions start this year).
    covered = {p.name for p in partitions.partitions("message")} >= {
        f"message_y{year}" for year in range(start, utcnow().year + 1)
    }
    assert not covered or "message_default" not in plan, plan
    found, plan = plans(period="tout")
    assert found == [cases[3].id]
    assert "message_default" in plan, plan
