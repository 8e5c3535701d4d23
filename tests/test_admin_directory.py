"""The directory screens, as an administrator uses them: offices and their tree, agents, topics,
reply templates and the settings (intake pause)."""

from __future__ import annotations

import re

from factories import World, make_case, make_office, make_topic
from flask.testing import FlaskClient
from helpers import csrf_token, submit_form
from sqlalchemy import select

from app.directory import settings
from models import Agent, Event, EventKind, KindCode, Office, OfficeTerritory, Setting, Topic, db
from views.theme import role_label


def _office(code: str) -> Office:
    db.session.expire_all()
    office = db.session.scalar(select(Office).where(Office.code == code))
    assert office is not None
    return office


def test_admin_creates_an_office_with_its_path_and_territory(
    world: World, admin_client: FlaskClient
) -> None:
    response = submit_form(
        admin_client,
        "/referentiel/services/add",
        {
            "code": "SIP694",
            "name": "SIP Lyon 4e",
            "kind": str(world.office_a.kind_id),
            "parent": str(world.directorate.id),
            "email": "sip.lyon4@dgfip.example",
            "territories_text": "69:69384; 69:69385",
            "active": "y",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Enregistré." in response.get_data(as_text=True)
    office = _office("SIP694")
    assert office.kind.code == KindCode.SIP
    assert office.parent_id == world.directorate.id
    assert office.path == f"{world.directorate.path}{office.id}/"
    assert sorted((t.departement, t.commune_code) for t in office.territories) == [
        ("69", "69384"),
        ("69", "69385"),
    ]
    listing = admin_client.get("/referentiel/services/list/").get_data(as_text=True)
    assert "Service des impôts des particuliers" in listing  # the kind's French label
    assert office.path in listing


def test_bad_territory_keeps_the_form_and_says_why(world: World, admin_client: FlaskClient) -> None:
    response = submit_form(
        admin_client,
        "/referentiel/services/add",
        {
            "code": "SIP695",
            "name": "SIP Lyon 5e",
            "kind": str(world.office_a.kind_id),
            "territories_text": "Rhône",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Territoire « Rhône » invalide" in page
    assert 'value="SIP Lyon 5e"' in page  # what was typed is still there
    assert db.session.scalar(select(Office).where(Office.code == "SIP695")) is None


def test_moving_an_office_moves_its_whole_subtree(world: World, admin_client: FlaskClient) -> None:
    # The Rhône directorate moves under the Loire one (an odd move, but it shows the subtree).
    moved = world.directorate
    response = submit_form(
        admin_client,
        f"/referentiel/services/edit/{moved.id}",
        {
            "code": moved.code,
            "name": moved.name,
            "kind": str(moved.kind_id),
            "parent": str(world.other_directorate.id),
            "active": "y",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    directorate = _office(moved.code)
    assert directorate.path == f"{world.other_directorate.path}{directorate.id}/"
    office_a = _office(world.office_a.code)
    assert office_a.path == f"{directorate.path}{office_a.id}/"
    # Territories typed as text are kept on edit (the SIP's own stay untouched).
    assert [t.departement for t in office_a.territories] == ["69"]


def test_an_office_cannot_be_put_under_itself(world: World, admin_client: FlaskClient) -> None:
    delegation = world.delegation
    # The delegation under one of its own directorates: refused, nothing changes.
    response = submit_form(
        admin_client,
        f"/referentiel/services/edit/{delegation.id}",
        {
            "code": delegation.code,
            "name": delegation.name,
            "kind": str(delegation.kind_id),
            "parent": str(world.directorate.id),
            "active": "y",
        },
        follow_redirects=True,
    )
    assert "ne peut pas dépendre de lui-même" in response.get_data(as_text=True)
    assert _office(delegation.code).parent_id is None
    assert _office(world.office_a.code).path.startswith(f"/{delegation.id}/")


def test_edit_form_shows_the_territory_as_text(world: World, admin_client: FlaskClient) -> None:
    db.session.add(
        OfficeTerritory(office_id=world.office_c.id, departement="42", commune_code="42218")
    )
    db.session.commit()
    page = admin_client.get(f"/referentiel/services/edit/{world.office_c.id}").get_data(
        as_text=True
    )
    assert 'value="42;42:42218"' in page


def test_referenced_rows_cannot_be_deleted_unused_ones_can(
    world: World, admin_client: FlaskClient
) -> None:
    topic = make_topic("Réclamation")
    make_case(world.taxpayer_a, world.office_a, topic=topic)
    spare = make_office(KindCode.CDIF, parent=world.directorate, name="CDIF inutilisé")
    unused_topic = make_topic("Motif jamais utilisé")
    db.session.commit()
    ids = {"office": world.office_a.id, "topic": topic.id, "spare": spare.id}
    unused_id = unused_topic.id

    for url in (
        f"/referentiel/services/delete/{ids['office']}",
        f"/referentiel/motifs/delete/{ids['topic']}",
    ):
        token = csrf_token(admin_client, "/referentiel/services/list/")
        page = admin_client.post(url, data={"csrf_token": token}, follow_redirects=True)
        assert page.status_code == 200
        assert "désactivez-le plutôt" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Office, ids["office"]) is not None
    assert db.session.get(Topic, ids["topic"]) is not None

    for url in (
        f"/referentiel/services/delete/{ids['spare']}",
        f"/referentiel/motifs/delete/{unused_id}",
    ):
        token = csrf_token(admin_client, "/referentiel/services/list/")
        assert admin_client.post(url, data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Office, ids["spare"]) is None
    assert db.session.get(Topic, unused_id) is None


def test_delete_by_get_changes_nothing(world: World, admin_client: FlaskClient) -> None:
    spare = make_office(KindCode.CDIF, parent=world.directorate)
    db.session.commit()
    spare_id = spare.id
    admin_client.get(f"/referentiel/services/delete/{spare_id}")
    db.session.expire_all()
    assert db.session.get(Office, spare_id) is not None


def test_admin_creates_an_agent_bound_to_an_office_with_roles(
    world: World, admin_client: FlaskClient, app: object
) -> None:
    page = admin_client.get("/users/add").get_data(as_text=True)
    assert "Chef de service" in page and "office_manager" not in page  # roles in words
    # Exactly the five roles are offered (by their French name, with their id as the value); not
    # FAB's Public role nor any other.
    roles = {
        role.name: role.id
        for role in db.session.scalars(select(Agent.roles.property.mapper.class_))  # type: ignore[attr-defined]
    }
    # The roles are check boxes (one per role: its id as the value, its French name as label).
    offered = set(
        re.findall(
            r'<input type="checkbox" id="(roles-\d+)" name="roles" value="(\d+)"[^>]*>\s*'
            r'<label class="fr-label" for="\1">([^<]+)</label>',
            page,
        )
    )
    offered = {(value, label.strip()) for _id, value, label in offered}
    wanted = {"agent", "office_manager", "steering", "correspondent", "admin"}
    by_id = {str(role_id): name for name, role_id in roles.items()}
    assert {by_id[value] for value, _label in offered} == wanted, offered
    for name in wanted:
        assert (str(roles[name]), role_label(name)) in offered, name
    response = submit_form(
        admin_client,
        "/users/add",
        {
            "first_name": "Léa",
            "last_name": "Durand",
            "username": "l.durand",
            "email": "lea.durand@dgfip.example",
            "office": str(world.office_b.id),
            "roles": [str(roles["agent"]), str(roles["office_manager"])],
            "active": "y",
            "password": "un mot de passe long",
            "conf_password": "un mot de passe long",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    db.session.expire_all()
    agent = db.session.scalar(select(Agent).where(Agent.username == "l.durand"))
    assert agent is not None
    assert agent.office_id == world.office_b.id
    assert agent.role_names == {"agent", "office_manager"}
    assert agent.password and agent.password != "un mot de passe long"  # hashed
    listing = admin_client.get("/users/list/").get_data(as_text=True)
    assert "l.durand" in listing and "Chef de service" in listing and "Non activé" in listing


def test_an_agent_role_needs_an_office(world: World, admin_client: FlaskClient) -> None:
    agent_role = next(role.id for role in world.agent_a.roles if role.name == "agent")
    response = submit_form(
        admin_client,
        "/users/add",
        {
            "first_name": "Sans",
            "last_name": "Service",
            "username": "sans.service",
            "email": "sans.service@dgfip.example",
            "roles": [str(agent_role)],
            "active": "y",
            "password": "un mot de passe long",
            "conf_password": "un mot de passe long",
        },
        follow_redirects=True,
    )
    assert "rattaché à un service" in response.get_data(as_text=True)
    assert db.session.scalar(select(Agent).where(Agent.username == "sans.service")) is None


def test_admin_sees_and_resets_the_second_factor(world: World, admin_client: FlaskClient) -> None:
    world.agent_a.otp_secret = "JBSWY3DPEHPK3PXP"
    world.agent_a.otp_last_counter = 123
    db.session.commit()
    agent_id = world.agent_a.id
    page = admin_client.get(f"/users/show/{agent_id}").get_data(as_text=True)
    assert "Activé" in page
    assert "JBSWY3DPEHPK3PXP" not in page  # the secret itself is never shown
    assert "Réinitialiser le second facteur" in page
    token = csrf_token(admin_client, f"/users/show/{agent_id}")
    response = admin_client.post(
        f"/users/action/reset_second_factor/{agent_id}",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "Second facteur réinitialisé" in response.get_data(as_text=True)
    db.session.expire_all()
    agent = db.session.get(Agent, agent_id)
    assert agent is not None and agent.otp_secret is None and agent.otp_last_counter is None
    event = db.session.scalar(
        select(Event).where(Event.kind == EventKind.AGENT_SECOND_FACTOR_RESET)
    )
    assert event is not None and event.data["agent_id"] == agent_id
    assert event.actor_agent_id == world.admin.id  # who did it is kept
    # An unknown action or agent is a 404, not an error page.
    assert admin_client.post("/users/action/nope/1", data={"csrf_token": token}).status_code == 404
    assert (
        admin_client.post(
            "/users/action/reset_second_factor/999999", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_topics_keep_their_parent_target_and_kind(world: World, admin_client: FlaskClient) -> None:
    parent = make_topic("Réclamation")
    db.session.commit()
    response = submit_form(
        admin_client,
        "/referentiel/motifs/add",
        {
            "code": "reclamation-ir",
            "label": "Contester l'impôt sur le revenu",
            "parent": str(parent.id),
            "taxpayer_kind": "individual",
            "target_days": "30",
            "position": "2",
            "active": "y",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    db.session.expire_all()
    topic = db.session.scalar(select(Topic).where(Topic.code == "reclamation-ir"))
    assert topic is not None and topic.parent_id == parent.id and topic.target_days == 30
    assert topic.taxpayer_kind is not None and topic.taxpayer_kind.value == "individual"
    listing = admin_client.get("/referentiel/motifs/list/").get_data(as_text=True)
    assert "Réclamation — Contester l&#39;impôt sur le revenu" in listing
    assert "Particulier" in listing


def test_the_intake_pause_is_switched_by_the_admin_and_seen_everywhere(
    world: World, admin_client: FlaskClient, taxpayer_client: FlaskClient, app: object
) -> None:
    assert settings.intake().paused is False
    response = submit_form(
        admin_client,
        "/referentiel/parametres/",
        {
            "paused": "y",
            "reopens_on": "2099-01-12",
            "replies_allowed": "y",
            "notice": "Le service reprend le 12 janvier.",
            "reopen_period_days": "15",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "le dépôt de nouvelles demandes est suspendu" in page
    db.session.expire_all()
    intake = settings.intake()
    assert intake.paused and intake.reopens_on is not None and intake.reopens_on.year == 2099
    assert intake.replies_allowed and intake.notice == "Le service reprend le 12 janvier."
    assert settings.messaging().reopen_period_days == 15
    assert settings.messaging().show_agent_names is False
    row = db.session.get(Setting, settings.INTAKE)
    assert row is not None and row.updated_by_id == world.admin.id
    changed = db.session.scalars(
        select(Event).where(Event.kind == EventKind.SETTING_CHANGED).order_by(Event.id)
    ).all()  # both settings changed, each recorded with its old and new values
    assert [e.data["key"] for e in changed] == [settings.INTAKE, settings.MESSAGING]
    assert changed[0].data["new"]["paused"] is True and changed[0].actor_agent_id == world.admin.id
    # The taxpayer's space says so.
    space = taxpayer_client.get("/espace/").get_data(as_text=True)
    assert "Vous pourrez écrire une nouvelle demande à partir du 12/01/2099" in space

    # Reopening: the unchecked box switches the pause off.
    submit_form(
        admin_client,
        "/referentiel/parametres/",
        {"reopen_period_days": "30", "notice": ""},
    )
    db.session.expire_all()
    assert settings.intake().paused is False
    assert settings.intake().replies_allowed is False


def test_settings_refuse_bad_values_and_keep_them(world: World, admin_client: FlaskClient) -> None:
    response = submit_form(
        admin_client,
        "/referentiel/parametres/",
        {"paused": "y", "reopens_on": "2001-01-01", "reopen_period_days": "-3", "notice": "x"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "La date de réouverture est déjà passée." in page
    assert "Entre 0 et 365 jours." in page
    assert db.session.get(Setting, settings.INTAKE) is None
