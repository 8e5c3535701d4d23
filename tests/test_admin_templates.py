"""An office manager manages their own office's reply templates and reaches no other, whatever
the URL or the method (list, show, edit, delete, FAB actions)."""

from __future__ import annotations

import pytest
from factories import World
from flask.testing import FlaskClient
from helpers import csrf_token, submit_form
from sqlalchemy import select

from models import ReplyTemplate, db


@pytest.fixture
def templates(world: World) -> dict[str, int]:
    rows = {
        "own": ReplyTemplate(
            title="Accusé SIP Lyon 3e", body="Bonjour {nom}", office_id=world.office_a.id
        ),
        "other": ReplyTemplate(
            title="Accusé SIE Lyon Nord", body="Bonjour", office_id=world.office_b.id
        ),
        "national": ReplyTemplate(title="Réponse nationale", body="Bonjour", office_id=None),
    }
    db.session.add_all(rows.values())
    db.session.commit()
    return {name: row.id for name, row in rows.items()}


def test_the_list_shows_only_the_managers_office(
    templates: dict[str, int], manager_client: FlaskClient
) -> None:
    page = manager_client.get("/modeles-du-service/list/").get_data(as_text=True)
    assert "Accusé SIP Lyon 3e" in page
    assert "Accusé SIE Lyon Nord" not in page
    assert "Réponse nationale" not in page


@pytest.mark.parametrize("name", ["other", "national"])
def test_other_templates_are_404_by_url_and_by_post(
    templates: dict[str, int], manager_client: FlaskClient, name: str
) -> None:
    pk = templates[name]
    token = csrf_token(manager_client, "/modeles-du-service/add")
    assert manager_client.get(f"/modeles-du-service/show/{pk}").status_code == 404
    assert manager_client.get(f"/modeles-du-service/edit/{pk}").status_code == 404
    edit = manager_client.post(
        f"/modeles-du-service/edit/{pk}",
        data={"csrf_token": token, "title": "Piraté", "body": "x"},
    )
    assert edit.status_code == 404
    assert (
        manager_client.post(
            f"/modeles-du-service/delete/{pk}", data={"csrf_token": token}
        ).status_code
        == 404
    )
    # FAB's action routes are not registered on this view at all.
    for url in (f"/modeles-du-service/action/muldelete/{pk}", "/modeles-du-service/action_post"):
        response = manager_client.post(
            url, data={"csrf_token": token, "action": "muldelete", "rowid": str(pk)}
        )
        assert response.status_code in (404, 405)
    db.session.expire_all()
    template = db.session.get(ReplyTemplate, pk)
    assert template is not None and template.title != "Piraté"


def test_the_manager_adds_edits_and_deletes_their_own(
    world: World, templates: dict[str, int], manager_client: FlaskClient
) -> None:
    response = submit_form(
        manager_client,
        "/modeles-du-service/add",
        # An office_id sent by hand is ignored: the template is the manager's office's.
        {
            "title": "Relance",
            "body": "Madame, Monsieur {nom}",
            "active": "y",
            "office": str(world.office_b.id),
            "office_id": str(world.office_b.id),
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    created = db.session.scalar(select(ReplyTemplate).where(ReplyTemplate.title == "Relance"))
    assert created is not None and created.office_id == world.office_a.id

    own = templates["own"]
    submit_form(
        manager_client,
        f"/modeles-du-service/edit/{own}",
        {
            "title": "Accusé de réception",
            "body": "Bonjour {nom}, votre demande {reference}.",
            "active": "y",
            "office": str(world.office_b.id),
        },
    )
    db.session.expire_all()
    edited = db.session.get(ReplyTemplate, own)
    assert edited is not None
    assert edited.title == "Accusé de réception" and edited.office_id == world.office_a.id

    token = csrf_token(manager_client, "/modeles-du-service/add")
    assert (
        manager_client.post(
            f"/modeles-du-service/delete/{own}", data={"csrf_token": token}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get(ReplyTemplate, own) is None


def test_the_admin_manages_every_template_from_the_directory(
    world: World, templates: dict[str, int], admin_client: FlaskClient
) -> None:
    page = admin_client.get("/referentiel/modeles/list/").get_data(as_text=True)
    for title in ("Accusé SIP Lyon 3e", "Accusé SIE Lyon Nord", "Réponse nationale"):
        assert title in page
    assert "National (tous les services)" in page
    submit_form(
        admin_client,
        "/referentiel/modeles/add",
        {"title": "Nationale 2", "body": "Bonjour {nom}", "active": "y"},
    )
    created = db.session.scalar(select(ReplyTemplate).where(ReplyTemplate.title == "Nationale 2"))
    assert created is not None and created.office_id is None
