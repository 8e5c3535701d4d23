"""Issue 20, findings 10 and 11: every page that shows a taxpayer's data to an agent writes the
read log (the contact form's lookup, the lists by identifier or by name, search results), and a
refused action answers a page that shows nothing of the case."""

from __future__ import annotations

from factories import World, make_case
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from test_agent_support import field, page_of, post_action, text_of

from models import AccessLog, db


def logged(app: Flask) -> list[tuple[str, int | None, int | None]]:
    with app.app_context():
        rows = db.session.scalars(select(AccessLog).order_by(AccessLog.id)).all()
        return [(row.object_kind, row.taxpayer_id, row.agent_id) for row in rows]


def test_finding_10_the_contact_form_s_taxpayer_is_a_logged_reading(
    app: Flask, world: World, agent_b_client: FlaskClient
) -> None:
    taxpayer = world.taxpayer_a
    page = agent_b_client.get(f"/agent/contacts/nouveau?taxpayer={taxpayer.id}")
    assert page.status_code == 200 and taxpayer.tax_number in page.get_data(as_text=True)
    assert logged(app) == [("contact_form", taxpayer.id, world.agent_b.id)]


def test_finding_10_lists_of_taxpayers_are_logged_reading_by_reading(
    app: Flask, world: World, agent_b_client: FlaskClient
) -> None:
    by_number = agent_b_client.get(
        f"/agent/contacts/nouveau?identifier={world.taxpayer_a.tax_number}"
    )
    assert world.taxpayer_a.tax_number in by_number.get_data(as_text=True)
    assert logged(app) == [("taxpayer_search", world.taxpayer_a.id, world.agent_b.id)]
    # By the first letter of the name: every taxpayer listed, once each.
    listed = agent_b_client.get("/agent/contacts/nouveau?name=M").get_data(as_text=True)
    assert world.taxpayer_a.tax_number in listed and world.taxpayer_b.tax_number in listed
    rows = logged(app)[1:]
    assert sorted(rows) == sorted(
        [
            ("taxpayer_search", world.taxpayer_a.id, world.agent_b.id),
            ("taxpayer_search", world.taxpayer_b.id, world.agent_b.id),
        ]
    )
    # The attach page's lookup too.
    case = make_case(None, world.office_b, subject="Appel anonyme")
    db.session.commit()
    before = len(logged(app))
    agent_b_client.get(
        f"/agent/contacts/{case.id}/rattacher?identifier={world.taxpayer_b.tax_number}"
    )
    assert logged(app)[before:] == [("taxpayer_search", world.taxpayer_b.id, world.agent_b.id)]


def test_finding_10_search_results_are_logged(
    app: Flask, world: World, agent_a_client: FlaskClient
) -> None:
    case = make_case(world.taxpayer_b, world.office_a, subject="Question de taxe foncière")
    db.session.commit()
    # A word of its subject lists it (an exact reference opens the case's own page).
    found = agent_a_client.get("/agent/recherche/?q=foncière")
    assert case.reference in found.get_data(as_text=True)
    assert ("search_results", world.taxpayer_b.id, world.agent_a.id) in logged(app)
    agent_a_client.get(f"/agent/recherche/?q={world.taxpayer_a.tax_number}")
    assert ("search", world.taxpayer_a.id, world.agent_a.id) in logged(app)


def test_finding_11_a_refused_action_shows_nothing_of_the_case(
    app: Flask, world: World, agent_a_client: FlaskClient
) -> None:
    case = make_case(world.taxpayer_a, world.office_a, subject="Changement de situation secret")
    db.session.commit()
    version = field(page_of(agent_a_client, case.id), "expected_version")
    before = len(logged(app))
    refusals = [
        ("cloturer", {"outcome": "", "expected_version": version}),
        ("note", {"note_body": "   "}),
        ("transmettre", {"to_office_id": "", "reason": "Le SIE.", "expected_version": version}),
    ]
    for action, data in refusals:
        response = post_action(agent_a_client, case.id, action, data)
        assert response.status_code == 400, action
        page = text_of(response)
        assert "Action non effectuée" in page
        assert "Changement de situation secret" not in page, action
        assert world.taxpayer_a.tax_number not in page and "Fil de discussion" not in page
    assert len(logged(app)) == before  # nothing shown, nothing to log
    # Back on the case's page (a logged reading), what was typed is there.
    response = post_action(
        agent_a_client,
        case.id,
        "transmettre",
        {"to_office_id": "", "reason": "Le SIE est compétent.", "expected_version": version},
    )
    back = text_of(response).split('id="refused-back" href="')[1].split('"')[0]
    page = text_of(agent_a_client.get(back))
    assert "Le SIE est compétent.</textarea>" in page
    assert "Choisissez le service destinataire." in page
    assert logged(app)[-1] == ("case", world.taxpayer_a.id, world.agent_a.id)
    # The kept input is given once, and to this case only.
    again = text_of(agent_a_client.get(back))
    assert "Le SIE est compétent.</textarea>" not in again
