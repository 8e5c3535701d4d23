"""Recording phone, counter and letter contacts through HTTP, as an agent at the counter would."""

from __future__ import annotations

import html
import re

import pytest
from factories import World, make_agent, make_contact, make_taxpayer, make_topic, office_kind
from flask import Flask
from flask.testing import FlaskClient
from helpers import csrf_token, sign_in_agent
from sqlalchemy import func, select

from app.cases import operations
from models import (
    AccessLog,
    Case,
    CaseStatus,
    Channel,
    Event,
    EventKind,
    KindCode,
    Message,
    RoutingRule,
    TaxpayerKind,
    Transfer,
    db,
)

NEW = "/agent/contacts/nouveau"


def form_for(client: FlaskClient, url: str) -> dict[str, str]:
    """The hidden fields of the contact form (CSRF and submission tokens), as a browser sends."""
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="submission_token" value="([^"]*)"', page)
    assert token, page
    return {"csrf_token": csrf_token(client, url), "submission_token": token.group(1)}


def contact_data(world: World, topic_id: int, **overrides: str) -> dict[str, str]:
    data = {
        "taxpayer_id": str(world.taxpayer_a.id),
        "channel": "counter",
        "topic": str(topic_id),
        "subject": "Question sur la taxe foncière",
        "summary": "L'usager conteste le montant de sa taxe foncière 2025.",
        "disposition": "handled",
        "visible_to_taxpayer": "1",
    }
    data.update(overrides)
    return data


def events(case_id: int) -> list[EventKind]:
    return list(
        db.session.scalars(select(Event.kind).where(Event.case_id == case_id).order_by(Event.id))
    )


def only_case() -> Case:
    db.session.expire_all()
    [case] = db.session.scalars(select(Case)).all()
    return case


@pytest.mark.parametrize("channel", [Channel.PHONE, Channel.COUNTER, Channel.LETTER])
@pytest.mark.parametrize("disposition", ["handled", "kept", "forwarded"])
def test_each_channel_with_each_disposition(
    agent_a_client: FlaskClient, world: World, channel: Channel, disposition: str
) -> None:
    topic = make_topic("Réclamation")
    db.session.commit()
    url = f"{NEW}?taxpayer={world.taxpayer_a.id}"
    data = {**form_for(agent_a_client, url), **contact_data(world, topic.id)}
    data.update(channel=channel.value, disposition=disposition)
    if disposition == "forwarded":
        data.update(
            to_office=str(world.office_b.id),
            reason="La taxe foncière d'un local professionnel relève du SIE.",
        )
    response = agent_a_client.post(NEW, data=data)
    assert response.status_code == 302
    assert f"/agent/usagers/{world.taxpayer_a.id}/synthese" in response.headers["Location"]

    case = only_case()
    assert case.channel is channel and case.taxpayer_id == world.taxpayer_a.id
    assert case.created_by_id == world.agent_a.id and case.visible_to_taxpayer
    [message] = case.messages
    assert message.body == "L'usager conteste le montant de sa taxe foncière 2025."
    assert not message.internal
    if disposition == "handled":
        assert case.status is CaseStatus.CLOSED and case.office_id == world.office_a.id
        assert case.closed_at is not None and case.first_answer_at is not None
        assert events(case.id) == [EventKind.CONTACT_RECORDED, EventKind.CLOSED]
    elif disposition == "kept":
        assert case.status is CaseStatus.NEW and case.office_id == world.office_a.id
        assert events(case.id) == [EventKind.CONTACT_RECORDED]
    else:
        assert case.status is CaseStatus.NEW and case.office_id == world.office_b.id
        assert events(case.id) == [EventKind.CONTACT_RECORDED, EventKind.TRANSFERRED]

    # The summary sheet the agent lands on shows the contact just recorded.
    page = agent_a_client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Contact {case.reference} enregistr" in page
    assert case.reference in page and str(channel.label) in page


def test_forwarding_creates_the_case_in_the_other_office_with_reason_and_event(
    agent_a_client: FlaskClient, agent_b_client: FlaskClient, world: World
) -> None:
    topic = make_topic("Réclamation")
    db.session.commit()
    url = f"{NEW}?taxpayer={world.taxpayer_a.id}"
    reason = "Local professionnel : la cotisation foncière relève du SIE."
    data = {
        **form_for(agent_a_client, url),
        **contact_data(world, topic.id, disposition="forwarded"),
        "to_office": str(world.office_b.id),
        "reason": reason,
    }
    response = agent_a_client.post(NEW, data=data, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "transmis à SIE Lyon Nord" in page

    case = only_case()
    assert case.office_id == world.office_b.id and case.awaiting_acknowledgement
    [transfer] = db.session.scalars(select(Transfer)).all()
    assert (transfer.from_office_id, transfer.to_office_id) == (
        world.office_a.id,
        world.office_b.id,
    )
    assert transfer.reason == reason and transfer.agent_id == world.agent_a.id
    event = db.session.scalar(select(Event).where(Event.kind == EventKind.TRANSFERRED))
    assert event is not None and event.data["reason"] == reason
    assert event.data["to_office_id"] == world.office_b.id

    # Office A no longer holds it: its sheet shows the move, not the reason nor a link.
    assert "SIP Lyon 3e → SIE Lyon Nord" in page
    assert reason not in page
    assert f'href="/agent/demandes/{case.id}"' not in page
    # Office B holds it: the reason and the link to the case are there.
    sheet_b = agent_b_client.get(
        f"/agent/usagers/{world.taxpayer_a.id}/synthese?reason=Demande+{case.reference}"
    ).get_data(as_text=True)
    assert reason in sheet_b and f'href="/agent/demandes/{case.id}"' in sheet_b


def test_a_double_submit_records_one_contact(agent_a_client: FlaskClient, world: World) -> None:
    topic = make_topic()
    db.session.commit()
    url = f"{NEW}?taxpayer={world.taxpayer_a.id}"
    data = {**form_for(agent_a_client, url), **contact_data(world, topic.id)}
    first = agent_a_client.post(NEW, data=data)
    second = agent_a_client.post(NEW, data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert len(db.session.scalars(select(Case)).all()) == 1


def test_bad_input_shows_a_french_message_and_keeps_what_was_typed(
    agent_a_client: FlaskClient, world: World
) -> None:
    topic = make_topic()
    db.session.commit()
    url = f"{NEW}?taxpayer={world.taxpayer_a.id}"
    hidden = form_for(agent_a_client, url)

    no_subject = agent_a_client.post(
        NEW, data={**hidden, **contact_data(world, topic.id, subject="")}
    )
    page = no_subject.get_data(as_text=True)
    assert no_subject.status_code == 200
    assert "Renseignez le champ « Objet »." in page
    assert "L&#39;usager conteste le montant de sa taxe foncière 2025." in page
    assert hidden["submission_token"] in page

    no_reason = agent_a_client.post(
        NEW,
        data={
            **hidden,
            **contact_data(world, topic.id, disposition="forwarded"),
            "to_office": str(world.office_b.id),
            "reason": "",
        },
    )
    assert no_reason.status_code == 200
    assert "Motif de la transmission" in no_reason.get_data(as_text=True)

    no_office = agent_a_client.post(
        NEW,
        data={
            **hidden,
            **contact_data(world, topic.id, disposition="forwarded"),
            "reason": "Ce n'est pas de notre ressort, voir le SIE.",
        },
    )
    assert "Choisissez le service destinataire." in no_office.get_data(as_text=True)

    no_channel = agent_a_client.post(
        NEW, data={**hidden, **contact_data(world, topic.id, channel="online")}
    )
    assert "Choisissez le canal du contact." in no_channel.get_data(as_text=True)

    bad_year = agent_a_client.post(
        NEW, data={**hidden, **contact_data(world, topic.id, tax_year="25")}
    )
    assert "quatre chiffres" in bad_year.get_data(as_text=True)
    assert db.session.scalars(select(Case)).all() == []


def test_hidden_contact_keeps_its_summary_as_an_internal_note(
    agent_a_client: FlaskClient, world: World
) -> None:
    topic = make_topic()
    db.session.commit()
    url = f"{NEW}?taxpayer={world.taxpayer_a.id}"
    data = {**form_for(agent_a_client, url), **contact_data(world, topic.id)}
    data["visible_to_taxpayer"] = "0"
    assert agent_a_client.post(NEW, data=data).status_code == 302
    case = only_case()
    assert not case.visible_to_taxpayer
    assert db.session.scalars(select(Message.internal)).all() == [True]


def test_visibility_is_an_explicit_choice_without_default(
    agent_a_client: FlaskClient, world: World
) -> None:
    topic = make_topic()
    db.session.commit()
    url = f"{NEW}?taxpayer={world.taxpayer_a.id}"
    page = agent_a_client.get(url).get_data(as_text=True)
    assert 'name="visible_to_taxpayer" value="1"' in page
    assert 'name="visible_to_taxpayer" value="0"' in page
    assert not re.search(r'name="visible_to_taxpayer" value="[01]"[^>]*checked', page)
    data = {**form_for(agent_a_client, url), **contact_data(world, topic.id)}
    del data["visible_to_taxpayer"]
    response = agent_a_client.post(NEW, data=data)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Indiquez si l'usager verra ce contact dans son espace." in page
    assert 'id="visible_to_taxpayer-error"' in page
    # Everything typed is kept.
    assert "L'usager conteste le montant de sa taxe foncière 2025." in page
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_the_form_offers_the_three_dispositions(agent_a_client: FlaskClient, world: World) -> None:
    page = agent_a_client.get(f"{NEW}?taxpayer={world.taxpayer_a.id}").get_data(as_text=True)
    for label in ("Traité sur place", "À traiter dans mon service", "Transmettre au service"):
        assert label in page
    for label in ("Téléphone", "Guichet", "Courrier"):
        assert label in page
    assert "Internet" not in page
    # Office B is offered as a destination, the agent's own office and directorates are not.
    options = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', page)
    assert any("SIE Lyon Nord" in o for o in options)
    assert not any("SIP Lyon 3e" in o or "DDFiP" in o for o in options)


def test_search_by_tax_number_siren_and_name_with_commune(
    agent_a_client: FlaskClient, world: World
) -> None:
    business = make_taxpayer(TaxpayerKind.BUSINESS, company_name="Boulangerie Dupuis")
    business.last_name = "Boulangerie Dupuis"
    homonym = make_taxpayer(last_name="Durand", city="Villeurbanne", postcode="69100")
    make_taxpayer(last_name="Durand", city="Saint-Étienne", postcode="42000", commune_code="42218")
    db.session.commit()

    by_number = agent_a_client.get(f"{NEW}?identifier={world.taxpayer_a.tax_number}")
    assert world.taxpayer_a.display_name in by_number.get_data(as_text=True)
    by_siren = agent_a_client.get(f"{NEW}?identifier={business.siren[:3]} {business.siren[3:]}")
    assert "Boulangerie Dupuis" in by_siren.get_data(as_text=True)
    by_name = agent_a_client.get(f"{NEW}?name=duRAND&commune=villeur").get_data(as_text=True)
    assert "Villeurbanne" in by_name and "Saint-Étienne" not in by_name
    assert f"taxpayer={homonym.id}" in by_name
    both = agent_a_client.get(f"{NEW}?name=Durand").get_data(as_text=True)
    assert "Villeurbanne" in both and "Saint-Étienne" in both
    nobody = agent_a_client.get(f"{NEW}?identifier=123").get_data(as_text=True)
    assert "13 chiffres" in nobody
    # A name with SQL wildcards matches literally.
    assert "Aucun usager" in agent_a_client.get(f"{NEW}?name=%25").get_data(as_text=True)


def test_unknown_person_then_attached_to_the_taxpayer(
    agent_a_client: FlaskClient, agent_b_client: FlaskClient, world: World
) -> None:
    topic = make_topic()
    db.session.commit()
    url = f"{NEW}?unknown=1"
    data = {**form_for(agent_a_client, url), **contact_data(world, topic.id, disposition="kept")}
    del data["taxpayer_id"]
    missing = agent_a_client.post(NEW, data=data)
    assert "saisissez l&#39;identité" in missing.get_data(as_text=True)
    data["declared_identity"] = "Jean Dupont, né le 1er mars 1970, 12 rue de la Paix"
    response = agent_a_client.post(NEW, data=data)
    case = only_case()
    assert response.headers["Location"].endswith(f"/agent/demandes/{case.id}")
    assert case.taxpayer_id is None and case.declared_identity.startswith("Jean Dupont")

    attach = f"/agent/contacts/{case.id}/rattacher"
    assert agent_b_client.get(attach).status_code == 404  # not office B's contact
    found = f"{attach}?identifier={world.taxpayer_a.tax_number}"
    page = agent_a_client.get(found).get_data(as_text=True)
    assert "Jean Dupont" in page and world.taxpayer_a.display_name in page
    done = agent_a_client.post(
        attach,
        data={"csrf_token": csrf_token(agent_a_client, found), "taxpayer_id": world.taxpayer_a.id},
    )
    assert done.status_code == 302
    assert f"/agent/usagers/{world.taxpayer_a.id}/synthese" in done.headers["Location"]
    case = only_case()
    assert case.taxpayer_id == world.taxpayer_a.id
    assert events(case.id)[-1] is EventKind.ATTACHED_TO_TAXPAYER
    again = agent_a_client.get(attach).get_data(as_text=True)
    assert "déjà rattaché" in again


def test_an_unknown_person_forwarded_goes_back_to_the_contact_form(
    agent_a_client: FlaskClient, world: World
) -> None:
    topic = make_topic()
    db.session.commit()
    data = {
        **form_for(agent_a_client, f"{NEW}?unknown=1"),
        **contact_data(world, topic.id, disposition="forwarded"),
        "declared_identity": "Mme Leroy, sans numéro fiscal",
        "to_office": str(world.office_b.id),
        "reason": "Création d'entreprise : relève du SIE.",
    }
    del data["taxpayer_id"]
    response = agent_a_client.post(NEW, data=data, follow_redirects=True)
    assert "transmis à SIE Lyon Nord" in response.get_data(as_text=True)
    assert only_case().office_id == world.office_b.id


@pytest.mark.parametrize(
    "client_name", ["anonymous_client", "taxpayer_client", "steering_client", "admin_client"]
)
def test_contact_screens_are_404_for_everyone_but_agents(
    request: pytest.FixtureRequest, world: World, client_name: str
) -> None:
    client: FlaskClient = request.getfixturevalue(client_name)
    case = make_contact(world.agent_a, None, declared_identity="Inconnu", disposition="kept")
    db.session.commit()
    for url in (
        NEW,
        f"{NEW}?taxpayer={world.taxpayer_a.id}",
        f"/agent/contacts/{case.id}/rattacher",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(NEW, data={}).status_code in (400, 404)


def test_the_manager_records_contacts_too(manager_client: FlaskClient, world: World) -> None:
    assert manager_client.get(NEW).status_code == 200


def _history(client: FlaskClient) -> tuple[int, str]:
    response = client.get("/espace/historique")
    return response.status_code, response.get_data(as_text=True)


def test_the_taxpayer_history_shows_visible_contacts_only(
    taxpayer_client: FlaskClient, world: World
) -> None:
    make_contact(world.agent_a, world.taxpayer_a, subject="Visite visible", visible=True)
    make_contact(
        world.agent_a,
        world.taxpayer_a,
        channel=Channel.PHONE,
        subject="Appel non visible",
        summary="Note réservée aux agents.",
        visible=False,
    )
    db.session.commit()
    status, page = _history(taxpayer_client)
    assert status == 200
    assert "Visite visible" in page
    assert "Appel non visible" not in page and "Note réservée aux agents." not in page


# --- issue 16: preview, competent office, the recorder's read access ----------------------------


def test_the_preview_shows_the_taxpayers_words_and_records_nothing(
    agent_a_client: FlaskClient, world: World
) -> None:
    topic = make_topic()
    db.session.commit()
    url = f"{NEW}?taxpayer={world.taxpayer_a.id}"
    data = {
        **form_for(agent_a_client, url),
        **contact_data(world, topic.id, disposition="kept"),
        "preview": "1",
    }
    page = html.unescape(agent_a_client.post(NEW, data=data).get_data(as_text=True))
    preview = page.split('id="apercu"')[1].split('<button type="submit"')[0]
    assert "Votre visite à l’accueil du service SIP Lyon 3e, le" in preview
    assert "Compte rendu de votre visite" in preview
    assert "L'usager conteste le montant de sa taxe foncière 2025." in preview
    assert "Le service SIP Lyon 3e donne suite à cet échange." in preview
    # Worded as a contact with the office, never as a case the taxpayer sent.
    for sent_words in ("Envoyée", "ENVOYÉE", "Votre demande est arrivée"):
        assert sent_words not in preview
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    # Hidden: the preview says the taxpayer sees nothing.
    data["visible_to_taxpayer"] = "0"
    page = html.unescape(agent_a_client.post(NEW, data=data).get_data(as_text=True))
    assert "L’usager ne verra pas ce contact" in page


def test_the_taxpayer_sees_a_recorded_contact_as_a_contact_not_a_sent_case(
    taxpayer_client: FlaskClient, world: World
) -> None:
    kept = make_contact(world.agent_a, world.taxpayer_a, disposition="kept", subject="Visite")
    forwarded = make_contact(
        world.agent_a,
        world.taxpayer_a,
        channel=Channel.PHONE,
        disposition="forwarded",
        to_office=world.office_b,
        reason="Relève du SIE : TVA.",
        subject="Appel TVA",
    )
    db.session.commit()
    page = html.unescape(
        taxpayer_client.get(f"/espace/demandes/{kept.reference}").get_data(as_text=True)
    )
    assert "Votre visite à l’accueil du service SIP Lyon 3e, le" in page
    assert "Compte rendu de votre visite" in page
    assert "Suite en cours" in page
    assert "Envoyée" not in page and "Votre demande est arrivée" not in page
    page = html.unescape(
        taxpayer_client.get(f"/espace/demandes/{forwarded.reference}").get_data(as_text=True)
    )
    assert "Votre appel au service SIP Lyon 3e, le" in page
    assert "a transmis votre demande au service SIE Lyon Nord" in page
    assert "Envoyée" not in page and "Votre demande est arrivée" not in page
    inbox = html.unescape(taxpayer_client.get("/espace/").get_data(as_text=True))
    assert "Envoyée" not in inbox


def test_forwarding_preselects_the_competent_office(
    agent_a_client: FlaskClient, world: World
) -> None:
    vat = make_topic("TVA")
    other = make_topic("Question générale")
    db.session.add(RoutingRule(topic_id=vat.id, office_kind=office_kind(KindCode.SIE), active=True))
    db.session.commit()
    url = f"{NEW}?taxpayer={world.taxpayer_a.id}"
    page = agent_a_client.get(url).get_data(as_text=True)
    competent = re.search(r"data-competent='([^']*)'", page)
    assert competent is not None
    # TVA goes to the SIE of the taxpayer's commune; the general question to the SIP, which is
    # the agent's own office: nothing to preselect there.
    assert f'"{vat.id}": {world.office_b.id}' in competent.group(1)
    assert f'"{other.id}"' not in competent.group(1)
    # Without JavaScript: the form shown again (preview) has it selected.
    data = {
        **form_for(agent_a_client, url),
        **contact_data(world, vat.id, disposition="forwarded"),
        "preview": "1",
    }
    page = agent_a_client.post(NEW, data=data).get_data(as_text=True)
    assert re.search(rf'<option value="{world.office_b.id}" selected>', page)


def test_the_recorder_keeps_reading_what_they_wrote_and_only_that(
    app: Flask, agent_a_client: FlaskClient, agent_b_client: FlaskClient, world: World
) -> None:
    case = make_contact(
        world.agent_a,
        world.taxpayer_a,
        disposition="forwarded",
        to_office=world.office_b,
        reason="Relève du SIE : TVA intracommunautaire.",
        summary="Résumé écrit par l'agent A.",
    )
    db.session.commit()
    operations.reply_to_case(agent=world.agent_b, case=case, body="Réponse écrite par le SIE.")
    db.session.commit()
    # The case page is office B's now; the recorder's page shows what A wrote.
    assert agent_a_client.get(f"/agent/demandes/{case.id}").status_code == 404
    page = html.unescape(agent_a_client.get(f"/agent/contacts/{case.id}").get_data(as_text=True))
    assert "Résumé écrit par l'agent A." in page
    assert "Relève du SIE : TVA intracommunautaire." in page
    assert "Réponse écrite par le SIE." not in page
    logged = db.session.scalar(
        select(AccessLog).where(AccessLog.object_kind == "contact", AccessLog.case_id == case.id)
    )
    assert logged is not None and logged.agent_id == world.agent_a.id
    # A colleague of A who did not record it, and office B's agent on that page: 404 / redirect.
    colleague = sign_in_agent(app.test_client(), make_agent(world.office_a, "agent"))
    db.session.commit()
    assert colleague.get(f"/agent/contacts/{case.id}").status_code == 404
    response = agent_b_client.get(f"/agent/contacts/{case.id}")
    assert response.status_code == 302 and response.location.endswith(f"/agent/demandes/{case.id}")
    # Recording it sent the agent to that page (unidentified person, forwarded).
    sheet = html.unescape(
        agent_a_client.get(
            f"/agent/usagers/{world.taxpayer_a.id}/synthese?reason=Contact"
        ).get_data(as_text=True)
    )
    assert f'href="/agent/contacts/{case.id}"' in sheet


def test_the_sheet_shows_transfers_and_acknowledgements_as_lines_of_the_timeline(
    agent_a_client: FlaskClient, world: World
) -> None:
    case = make_contact(
        world.agent_a,
        world.taxpayer_a,
        disposition="forwarded",
        to_office=world.office_b,
        reason="Relève du SIE : TVA.",
    )
    db.session.commit()
    operations.acknowledge_transfer(agent=world.agent_b, case=case)
    db.session.commit()
    page = html.unescape(
        agent_a_client.get(
            f"/agent/usagers/{world.taxpayer_a.id}/synthese?reason=Contact"
        ).get_data(as_text=True)
    )
    rows = re.findall(r'<tr class="(ec-entry|ec-event ec-event-\w+)"', page)
    # Newest first: acknowledged, transferred, then the visit itself.
    assert rows == ["ec-event ec-event-acknowledged", "ec-event ec-event-transferred", "ec-entry"]
    assert "SIP Lyon 3e → SIE Lyon Nord" in page
    assert "Transmission prise en compte" in page
    assert world.agent_b.full_name in page


def test_the_case_page_preselects_the_competent_office_for_a_transfer(
    agent_a_client: FlaskClient, world: World
) -> None:
    from factories import make_case

    vat = make_topic("TVA")
    db.session.add(RoutingRule(topic_id=vat.id, office_kind=office_kind(KindCode.SIE), active=True))
    misrouted = make_case(world.taxpayer_a, world.office_a, topic=vat, subject="TVA")
    rightly = make_case(world.taxpayer_a, world.office_a, topic=make_topic("Question"))
    db.session.commit()
    page = agent_a_client.get(f"/agent/demandes/{misrouted.id}").get_data(as_text=True)
    assert re.search(rf'<option value="{world.office_b.id}" selected>', page)
    assert "Le service compétent selon les règles d" in page
    # Already in the competent office: nothing preselected.
    page = agent_a_client.get(f"/agent/demandes/{rightly.id}").get_data(as_text=True)
    assert " selected>" not in page.split('id="to_office_id"')[1].split("</select>")[0]
