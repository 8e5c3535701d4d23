"""Office kinds as directory data (issue 22): an administrator creates a new kind on screen, an
office of that kind and a routing rule; with no code change, the office receives online
cases, agents forward cases to it, its agents record contacts, and it appears in steering.
Routing rules may also point to one given office; what a kind may do is read from its
capabilities (receive online cases, transfers, record contacts, steering level)."""

from __future__ import annotations

import html
from typing import Any

from factories import World, make_agent, make_case, make_topic
from flask import Flask
from flask.testing import FlaskClient
from helpers import csrf_token, sign_in_agent, submit_form
from sqlalchemy import select
from test_agent_support import post_action
from test_taxpayer_space import post_case

from models import Case, KindCode, Office, OfficeKind, RoutingRule, db

KINDS = "/referentiel/types-de-service/"


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _new_kind(client: FlaskClient, code: str, label: str, **capabilities: str) -> OfficeKind:
    fields = {
        "code": code,
        "label": label,
        "receives_online": "y",
        "receives_transfers": "y",
        "records_contacts": "y",
        "steering_level": "0",
        "default_for": "",
        "active": "y",
        **capabilities,
    }
    fields = {name: value for name, value in fields.items() if value != "n"}
    response = submit_form(client, KINDS + "add", fields, follow_redirects=True)
    assert "Enregistré." in _text(response), _text(response)[:3000]
    kind = db.session.scalar(select(OfficeKind).where(OfficeKind.code == code))
    assert kind is not None
    return kind


def _new_office(
    client: FlaskClient, world: World, kind: OfficeKind, code: str, name: str
) -> Office:
    response = submit_form(
        client,
        "/referentiel/services/add",
        {
            "code": code,
            "name": name,
            "kind": str(kind.id),
            "parent": str(world.directorate.id),
            "territories_text": "69",
            "active": "y",
        },
        follow_redirects=True,
    )
    assert "Enregistré." in _text(response), _text(response)[:3000]
    office = db.session.scalar(select(Office).where(Office.code == code))
    assert office is not None and office.kind_id == kind.id
    return office


def test_a_new_kind_created_on_screen_receives_forwards_and_is_steered(
    app: Flask,
    world: World,
    admin_client: FlaskClient,
    taxpayer_client: FlaskClient,
    agent_a_client: FlaskClient,
) -> None:
    # The ten kinds of the first directory are listed, with what they may do.
    listing = _text(admin_client.get(KINDS + "list/"))
    assert (
        "Service des impôts des particuliers" in listing and "Délégation interrégionale" in listing
    )

    kind = _new_kind(admin_client, "spf", "Service de la publicité foncière")
    # The office form offers it at once (no "Choix invalide").
    assert "Service de la publicité foncière" in _text(
        admin_client.get("/referentiel/services/add")
    )
    office = _new_office(admin_client, world, kind, "SPF691", "SPF Lyon 1")
    topic = make_topic("Publicité foncière")
    db.session.commit()
    response = submit_form(
        admin_client,
        "/referentiel/aiguillage/add",
        {"topic": str(topic.id), "office_kind": str(kind.id), "active": "y"},
        follow_redirects=True,
    )
    assert "Enregistré." in _text(response)
    assert "Service de la publicité foncière" in _text(
        admin_client.get("/referentiel/aiguillage/list/")
    )

    # It receives the taxpayer's online case (the taxpayer lives in the Rhône, 69).
    submitted = post_case(
        taxpayer_client,
        {
            "topic": str(topic.id),
            "tax_matter": "",
            "tax_year": "",
            "subject": "Publication d'un acte",
            "body": "Bonjour, où en est la publication de mon acte de vente ?",
        },
    )
    assert submitted.status_code == 302, _text(submitted)[:2000]
    case = db.session.scalar(select(Case).where(Case.subject == "Publication d'un acte"))
    assert case is not None and case.office_id == office.id

    # Agents elsewhere can forward to it: it is offered, and the transfer goes through.
    other = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    page = _text(agent_a_client.get(f"/agent/demandes/{other.id}"))
    assert f'<option value="{office.id}"' in page and "SPF Lyon 1" in page
    done = post_action(
        agent_a_client,
        other.id,
        "transmettre",
        {
            "to_office_id": str(office.id),
            "reason": "La publicité foncière relève du SPF.",
            "expected_version": str(other.version),
        },
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, other.id).office_id == office.id  # type: ignore[union-attr]

    # Its own agents handle its cases and record contacts.
    spf_agent = make_agent(office, "agent")
    db.session.commit()
    spf_client = sign_in_agent(app.test_client(), spf_agent)
    assert spf_client.get(f"/agent/demandes/{case.id}").status_code == 200
    assert spf_client.get("/agent/contacts/nouveau").status_code == 200

    # Steering of its directorate shows it, with its cases.
    steering_user = make_agent(world.directorate, "steering")
    db.session.commit()
    steering = sign_in_agent(app.test_client(), steering_user)
    exported = _text(steering.get(f"/pilotage/{world.directorate.id}/export/synthese.csv"))
    row = next(line for line in exported.splitlines() if line.startswith("SPF Lyon 1;"))
    assert row.split(";")[1] == "2", row  # received: the online case and the transfer
    assert row.split(";")[-1] == "1", row  # transfers received
    assert "SPF Lyon 1" in _text(steering.get(f"/pilotage/{world.directorate.id}"))


def test_capabilities_decide_not_codes(
    app: Flask, world: World, admin_client: FlaskClient, agent_a_client: FlaskClient
) -> None:
    # A kind that receives neither online cases nor transfers, and records no contacts.
    kind = _new_kind(
        admin_client,
        "archives",
        "Service des archives",
        receives_online="n",
        receives_transfers="n",
        records_contacts="n",
    )
    office = _new_office(admin_client, world, kind, "ARC69", "Archives du Rhône")
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    page = _text(agent_a_client.get(f"/agent/demandes/{case.id}"))
    assert f'<option value="{office.id}"' not in page
    refused = post_action(
        agent_a_client,
        case.id,
        "transmettre",
        {
            "to_office_id": str(office.id),
            "reason": "Essai de transmission aux archives.",
            "expected_version": str(case.version),
        },
    )
    assert refused.status_code == 400 and "Choisissez le service destinataire." in _text(refused)
    archivist = make_agent(office, "agent")
    db.session.commit()
    client = sign_in_agent(app.test_client(), archivist)
    assert client.get("/agent/contacts/nouveau").status_code == 404
    # A routing rule cannot name it (not offered), and a steering kind cannot receive anything.
    rule_form = _text(admin_client.get("/referentiel/aiguillage/add"))
    assert "Service des archives" not in rule_form
    mixed = submit_form(
        admin_client,
        KINDS + "add",
        {"code": "mixte", "label": "Mixte", "receives_online": "y", "steering_level": "1"},
        follow_redirects=True,
    )
    assert "Un type qui pilote ne reçoit ni demandes" in _text(mixed)


def test_a_routing_rule_may_name_one_office(
    world: World, admin_client: FlaskClient, taxpayer_client: FlaskClient
) -> None:
    topic = make_topic("Amendes")
    db.session.commit()
    neither = submit_form(
        admin_client,
        "/referentiel/aiguillage/add",
        {"topic": str(topic.id), "active": "y"},
        follow_redirects=True,
    )
    assert "Choisissez soit un type de service, soit un service désigné." in _text(neither)
    both = submit_form(
        admin_client,
        "/referentiel/aiguillage/add",
        {
            "topic": str(topic.id),
            "office_kind": str(world.office_b.kind_id),
            "office": str(world.office_c.id),
            "active": "y",
        },
        follow_redirects=True,
    )
    assert "Choisissez soit un type de service, soit un service désigné." in _text(both)
    assert db.session.scalar(select(RoutingRule)) is None
    # To one office: the case goes there, whatever the taxpayer's commune (69 vs 42 here).
    submit_form(
        admin_client,
        "/referentiel/aiguillage/add",
        {"topic": str(topic.id), "office": str(world.office_c.id), "active": "y"},
    )
    response = post_case(
        taxpayer_client,
        {
            "topic": str(topic.id),
            "tax_matter": "",
            "tax_year": "",
            "subject": "Une amende",
            "body": "Bonjour, j'ai reçu une amende que je conteste.",
        },
    )
    assert response.status_code == 302
    case = db.session.scalar(select(Case).where(Case.subject == "Une amende"))
    assert case is not None and case.office_id == world.office_c.id


def test_a_kind_in_use_cannot_be_deleted(world: World, admin_client: FlaskClient) -> None:
    sip = db.session.scalar(select(OfficeKind).where(OfficeKind.code == KindCode.SIP))
    assert sip is not None
    token = csrf_token(admin_client, KINDS + "list/")
    response = admin_client.post(
        f"{KINDS}delete/{sip.id}", data={"csrf_token": token}, follow_redirects=True
    )
    assert "ne peut pas être supprimé" in _text(response)
    assert db.session.get(OfficeKind, sip.id) is not None
