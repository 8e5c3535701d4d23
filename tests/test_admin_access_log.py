"""The read log: "who consulted this taxpayer's file in this period", by office manager (their
office) and administrator (everything), with its CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from factories import World, make_agent, make_case
from flask.testing import FlaskClient

from app.cases import operations
from app.platform.templating import local
from models import AccessLog, db


@pytest.fixture
def log(world: World) -> None:
    case = make_case(world.taxpayer_a, world.office_a)
    colleague = make_agent(world.office_a, "agent", username="voisin.a")
    entries = [
        (world.agent_a, world.taxpayer_a, "case", case.id, "Traitement"),
        (colleague, world.taxpayer_a, "summary", None, "Accueil au guichet"),
        (world.agent_b, world.taxpayer_a, "summary", None, '=HYPERLINK("x")'),
        (world.agent_a, world.taxpayer_b, "summary", None, "Appel"),
    ]
    for agent, taxpayer, kind, case_id, reason in entries:
        operations.log_access(
            agent=agent,
            object_kind=kind,
            object_id=case_id,
            taxpayer_id=taxpayer.id,
            case_id=case_id,
            reason=reason,
        )
    old = operations.log_access(
        agent=world.agent_a,
        object_kind="summary",
        object_id=None,
        taxpayer_id=world.taxpayer_a.id,
        reason="Consultation ancienne",
    )
    old.created_at = datetime(2024, 3, 10, 9, 0, tzinfo=UTC)
    db.session.commit()


def test_manager_sees_their_office_only_and_filters_by_taxpayer_and_period(
    world: World, log: None, manager_client: FlaskClient
) -> None:
    today = local(datetime.now(UTC)).date()  # the filter's dates are Paris days, as shown
    page = manager_client.get(
        "/journal-des-consultations/",
        query_string={
            "taxpayer": world.taxpayer_a.tax_number,
            "date_from": (today - timedelta(days=1)).isoformat(),
            "date_to": today.isoformat(),
        },
    ).get_data(as_text=True)
    assert "Traitement" in page and "Accueil au guichet" in page
    assert "voisin.a" in page
    assert "Fiche de synthèse" in page and "Demande" in page
    assert "HYPERLINK" not in page  # office B's agent: not the manager's office
    assert "Appel" not in page  # another taxpayer
    assert "Consultation ancienne" not in page  # outside the period
    # Without a period, the old entry is there.
    page = manager_client.get(
        "/journal-des-consultations/", query_string={"taxpayer": world.taxpayer_a.tax_number}
    ).get_data(as_text=True)
    assert "Consultation ancienne" in page


def test_admin_sees_every_office_and_filters_by_agent_and_kind(
    world: World, log: None, admin_client: FlaskClient
) -> None:
    page = admin_client.get("/journal-des-consultations/").get_data(as_text=True)
    for reason in ("Traitement", "Accueil au guichet", "HYPERLINK", "Appel"):
        assert reason in page
    page = admin_client.get(
        "/journal-des-consultations/",
        query_string={"agent": world.agent_a.username, "object_kind": "summary"},
    ).get_data(as_text=True)
    assert "Appel" in page and "Consultation ancienne" in page
    assert "Traitement" not in page and "Accueil au guichet" not in page


def test_unusable_filters_say_why(world: World, log: None, admin_client: FlaskClient) -> None:
    page = admin_client.get(
        "/journal-des-consultations/",
        query_string={"taxpayer": "0000000000000", "agent": "personne", "date_from": "hier"},
    ).get_data(as_text=True)
    assert "Aucun usager n&#39;a le numéro fiscal ou le SIREN « 0000000000000 »" in page
    assert "Aucun agent n&#39;a l&#39;identifiant « personne »" in page
    assert "Date invalide « hier »" in page
    assert "Traitement" not in page


def test_export_is_a_csv_of_the_same_rows(
    world: World, log: None, manager_client: FlaskClient
) -> None:
    response = manager_client.get(
        "/journal-des-consultations/export.csv",
        query_string={"taxpayer": world.taxpayer_a.tax_number},
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    assert rows[0][:2] == ["Date", "Agent"]
    reasons = sorted(row[-1] for row in rows[1:])
    assert reasons == ["Accueil au guichet", "Consultation ancienne", "Traitement"]
    assert all(world.taxpayer_a.tax_number in row[3] for row in rows[1:])


def test_export_neutralises_formulas(world: World, log: None, admin_client: FlaskClient) -> None:
    text = admin_client.get("/journal-des-consultations/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text


def test_the_log_is_read_only(world: World, log: None, admin_client: FlaskClient) -> None:
    count = db.session.query(AccessLog).count()
    for url in ("/journal-des-consultations/", "/journal-des-consultations/export.csv"):
        assert admin_client.post(url).status_code in (400, 405)
    rules = [r.rule for r in admin_client.application.url_map.iter_rules()]
    assert sorted(r for r in rules if r.startswith("/journal-des-consultations")) == [
        "/journal-des-consultations/",
        "/journal-des-consultations/export.csv",
    ]
    assert db.session.query(AccessLog).count() == count


def test_the_page_costs_a_fixed_number_of_queries(
    world: World, log: None, admin_client: FlaskClient, app: object
) -> None:
    from sqlalchemy import event

    def count_queries() -> int:
        statements: list[str] = []

        def record(*args: object) -> None:
            statements.append(str(args[2]))

        engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            admin_client.get("/journal-des-consultations/")
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    before = count_queries()
    for _ in range(20):
        operations.log_access(
            agent=make_agent(world.office_b, "agent"),
            object_kind="summary",
            object_id=None,
            taxpayer_id=world.taxpayer_b.id,
        )
    db.session.commit()
    assert count_queries() == before
