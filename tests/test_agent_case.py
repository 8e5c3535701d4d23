"""A case's page and each of its actions: what the agent sees, what is written, which event."""

from __future__ import annotations

import pytest
from factories import World, make_agent, make_case, make_reply_template, outcome_id
from flask import Flask
from flask.testing import FlaskClient
from helpers import run_jobs
from test_agent_support import (
    agent_csrf,
    clean_presence,  # noqa: F401  (fixture)
    events_of,
    field,
    followed,
    page_of,
    post_action,
    refused_and_back,
    taxpayer_message,
    text_of,
)

from app.cases import operations, presence
from models import (
    AccessLog,
    Case,
    CaseStatus,
    Message,
    Transfer,
    db,
)


@pytest.fixture
def case_a(world: World) -> Case:
    taxpayer = world.taxpayer_a
    taxpayer.phone = "04 72 00 00 00"
    taxpayer.address_line = "12 rue de la République"
    taxpayer.postcode = "69003"
    taxpayer.city = "Lyon"
    case = make_case(taxpayer, world.office_a, subject="Remboursement trop-perçu")
    taxpayer_message(case, taxpayer, "Bonjour, voici mon avis.", pdf=True)
    case.unread_by_office = True
    db.session.commit()
    return case


def _reload(case_id: int) -> Case:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case is not None
    return case


def _flash(client: FlaskClient, response: object) -> str:
    return followed(client, response)


# --- the page --------------------------------------------------------------------------------


def test_the_page_shows_identity_thread_notes_history_and_logs_the_consultation(
    world: World, case_a: Case, agent_a_client: FlaskClient
) -> None:
    operations.add_note(agent=world.agent_a, case=case_a, body="Vérifier le dégrèvement.")
    db.session.commit()
    page = page_of(agent_a_client, case_a.id)
    taxpayer = world.taxpayer_a
    for text in (
        taxpayer.display_name,
        taxpayer.tax_number,
        taxpayer.email,
        "04 72 00 00 00",
        "12 rue de la République",
        "69003 Lyon",
        "Bonjour, voici mon avis.",
        "avis.pdf",
        "Vérifier le dégrèvement.",
        "Note interne — non visible par l'usager",
        "Historique",
        "Réponse de l'usager",
        "Note interne ajoutée",
    ):
        assert text in page, text
    assert f"/agent/usagers/{taxpayer.id}/synthese?reason=" in page
    # The note is drawn apart from the messages.
    assert 'class="ec-message ec-note"' in page
    log = db.session.scalars(db.select(AccessLog).where(AccessLog.case_id == case_a.id)).one()
    assert log.agent_id == world.agent_a.id and log.object_kind == "case"
    assert log.reason == "Traitement de la demande" and log.taxpayer_id == taxpayer.id
    assert _reload(case_a.id).unread_by_office is False


def test_an_attachment_downloads_as_a_file_and_is_logged(
    world: World, case_a: Case, agent_a_client: FlaskClient
) -> None:
    attachment = db.session.scalars(db.select(Message).where(Message.case_id == case_a.id)).one()
    attachment_id = attachment.attachments[0].id
    response = agent_a_client.get(f"/agent/demandes/{case_a.id}/pieces-jointes/{attachment_id}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "avis.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data().startswith(b"%PDF")
    response.close()
    log = db.session.scalars(
        db.select(AccessLog).where(AccessLog.object_kind == "attachment")
    ).one()
    assert log.object_id == attachment_id and log.case_id == case_a.id
    # An attachment id under another case's URL: 404.
    other = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    url = f"/agent/demandes/{other.id}/pieces-jointes/{attachment_id}"
    assert agent_a_client.get(url).status_code == 404


def test_an_unknown_case_is_a_404(agent_a_client: FlaskClient, world: World) -> None:
    assert agent_a_client.get("/agent/demandes/999999").status_code == 404


# --- taking and assigning ----------------------------------------------------------------------


def test_take(world: World, case_a: Case, agent_a_client: FlaskClient) -> None:
    page = page_of(agent_a_client, case_a.id)
    response = post_action(
        agent_a_client,
        case_a.id,
        "prendre",
        {"expected_version": field(page, "expected_version")},
    )
    assert response.status_code == 302
    assert "Vous avez pris en charge cette demande." in _flash(agent_a_client, response)
    case = _reload(case_a.id)
    assert case.assignee_id == world.agent_a.id and case.status is CaseStatus.IN_PROGRESS
    assert events_of(case.id)[-1] == "assigned"


def test_a_manager_assigns_and_an_agent_may_not(
    world: World, case_a: Case, manager_client: FlaskClient, agent_a_client: FlaskClient
) -> None:
    page = page_of(manager_client, case_a.id)
    assert 'name="assignee_id"' in page
    assert 'name="assignee_id"' not in page_of(agent_a_client, case_a.id)
    response = post_action(
        manager_client,
        case_a.id,
        "attribuer",
        {"assignee_id": str(world.agent_a.id), "expected_version": field(page, "expected_version")},
    )
    assert response.status_code == 302
    assert f"Demande attribuée à {world.agent_a.full_name}." in _flash(manager_client, response)
    case = _reload(case_a.id)
    assert case.assignee_id == world.agent_a.id
    assert events_of(case.id)[-1] == "assigned"
    # An agent of another office cannot be chosen.
    response = post_action(
        manager_client,
        case_a.id,
        "attribuer",
        {"assignee_id": str(world.agent_b.id), "expected_version": str(case.version)},
    )
    assert response.status_code == 400
    assert "Choisissez un agent du service." in text_of(response)
    assert _reload(case_a.id).assignee_id == world.agent_a.id
    # A plain agent posting the form is refused with the reason.
    response = post_action(
        agent_a_client,
        case_a.id,
        "attribuer",
        {"assignee_id": "", "expected_version": str(case.version)},
    )
    assert response.status_code == 400
    assert "Seul le chef de service peut attribuer une demande." in text_of(response)
    assert _reload(case_a.id).assignee_id == world.agent_a.id


# --- messages ----------------------------------------------------------------------------------


def test_reply_reaches_the_taxpayer_by_an_alert_and_in_their_space(
    app: Flask,
    world: World,
    case_a: Case,
    agent_a_client: FlaskClient,
    taxpayer_client: FlaskClient,
    smtp_server: object,
) -> None:
    page = page_of(agent_a_client, case_a.id)
    response = post_action(
        agent_a_client,
        case_a.id,
        "repondre",
        {
            "kind": "reponse",
            "body": "Votre remboursement part cette semaine.",
            "submission_token": field(page, "submission_token"),
            "last_message_id": field(page, "last_message_id"),
        },
    )
    assert response.status_code == 302
    assert "Votre réponse a été envoyée à l'usager." in _flash(agent_a_client, response)
    message = db.session.scalars(
        db.select(Message).where(Message.case_id == case_a.id).order_by(Message.id.desc())
    ).first()
    assert message is not None and message.body == "Votre remboursement part cette semaine."
    assert message.internal is False and message.author_agent_id == world.agent_a.id
    case = _reload(case_a.id)
    assert case.status is CaseStatus.IN_PROGRESS and case.first_answer_at is not None
    assert "answered" in events_of(case.id)
    run_jobs(app)
    mails = smtp_server.messages  # type: ignore[attr-defined]
    assert [m["To"] for m in mails] == [world.taxpayer_a.email]
    assert "Votre remboursement" not in mails[0].get_content()
    # The taxpayer sees the answer in their space.
    thread = taxpayer_client.get(f"/espace/demandes/{case.reference}")
    if thread.status_code == 200:
        assert "Votre remboursement part cette semaine." in thread.get_data(as_text=True)
    else:  # the taxpayer's thread page is not there yet: their inbox shows the case
        assert case.reference in taxpayer_client.get("/espace/").get_data(as_text=True)


def test_reply_and_close_with_an_outcome(
    world: World, case_a: Case, agent_a_client: FlaskClient
) -> None:
    page = page_of(agent_a_client, case_a.id)
    data = {
        "kind": "reponse",
        "body": "C'est réglé.",
        "close": "1",
        "outcome_id": "",
        "submission_token": field(page, "submission_token"),
    }
    response = post_action(agent_a_client, case_a.id, "repondre", data)
    assert response.status_code == 400
    html = refused_and_back(agent_a_client, response)
    assert "Choisissez l'issue de la demande pour la clôturer." in html
    assert "C'est réglé.</textarea>" in html  # what was typed is kept
    assert _reload(case_a.id).status is CaseStatus.NEW
    data["outcome_id"] = outcome_id("granted")
    response = post_action(agent_a_client, case_a.id, "repondre", data)
    assert response.status_code == 302
    case = _reload(case_a.id)
    assert case.status is CaseStatus.CLOSED and case.outcome == "Demande satisfaite"
    assert events_of(case.id)[-2:] == ["answered", "closed"]


def test_an_empty_reply_is_refused_and_nothing_is_written(
    case_a: Case, agent_a_client: FlaskClient
) -> None:
    response = post_action(
        agent_a_client, case_a.id, "repondre", {"kind": "reponse", "body": "   "}
    )
    assert response.status_code == 400
    assert "Renseignez le champ « Réponse »." in text_of(response)
    assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 1


def test_a_refused_attachment_keeps_the_typed_text(
    case_a: Case, agent_a_client: FlaskClient
) -> None:
    from test_agent_support import DATA

    with (DATA / "page.html.pdf").open("rb") as fake:
        response = post_action(
            agent_a_client,
            case_a.id,
            "repondre",
            {"kind": "reponse", "body": "Voir la pièce jointe.", "pieces_jointes": fake},
            content_type="multipart/form-data",
        )
    assert response.status_code == 400
    html = refused_and_back(agent_a_client, response)
    assert "Voir la pièce jointe.</textarea>" in html
    assert "Choisissez à nouveau vos fichiers : ceux-ci ont été refusés." in html
    assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 1


def test_reply_from_a_template_fills_the_variables(
    world: World, case_a: Case, agent_a_client: FlaskClient
) -> None:
    make_reply_template("Accusé de réception")
    own = make_reply_template(
        "Modèle du SIP", "Madame, Monsieur {nom} : {service}", office=world.office_a
    )
    make_reply_template("Modèle du SIE", "Réservé au SIE", office=world.office_b)
    db.session.commit()
    page = page_of(agent_a_client, case_a.id)
    name = world.taxpayer_a.display_name
    assert "Accusé de réception" in page and "Modèle du SIP" in page
    assert "Modèle du SIE" not in page and "Réservé au SIE" not in page
    # Filled in the option's data attribute for agent.js...
    assert f"Bonjour {name},\n\nNous avons bien reçu votre demande {case_a.reference}." in page
    assert "SIP Lyon 3e, le " in page
    # ...and without JavaScript through ?modele=.
    filled = agent_a_client.get(f"/agent/demandes/{case_a.id}?modele={own.id}")
    assert f"Madame, Monsieur {name} : SIP Lyon 3e</textarea>" in filled.get_data(as_text=True)


def test_request_information(world: World, case_a: Case, agent_a_client: FlaskClient) -> None:
    response = post_action(
        agent_a_client,
        case_a.id,
        "repondre",
        {"kind": "precision", "body": "Pouvez-vous envoyer votre RIB ?"},
    )
    assert response.status_code == 302
    assert "Votre demande de précision a été envoyée" in _flash(agent_a_client, response)
    case = _reload(case_a.id)
    assert case.status is CaseStatus.AWAITING_TAXPAYER
    assert events_of(case.id)[-1] == "information_requested"
    message = db.session.scalars(db.select(Message).order_by(Message.id.desc())).first()
    assert message is not None and message.requests_information is True


def test_internal_note_is_kept_from_the_taxpayer(
    app: Flask, world: World, case_a: Case, agent_a_client: FlaskClient, smtp_server: object
) -> None:
    response = post_action(
        agent_a_client, case_a.id, "note", {"note_body": "Appeler le SIE avant de répondre."}
    )
    assert response.status_code == 302
    assert "Votre note interne a été ajoutée." in _flash(agent_a_client, response)
    message = db.session.scalars(db.select(Message).order_by(Message.id.desc())).first()
    assert message is not None and message.internal is True
    assert events_of(case_a.id)[-1] == "note_added"
    run_jobs(app)
    assert smtp_server.messages == []  # type: ignore[attr-defined]


def test_a_double_submit_writes_one_message(case_a: Case, agent_a_client: FlaskClient) -> None:
    page = page_of(agent_a_client, case_a.id)
    data = {
        "kind": "reponse",
        "body": "Une seule fois.",
        "submission_token": field(page, "submission_token"),
    }
    first = post_action(agent_a_client, case_a.id, "repondre", data)
    second = post_action(agent_a_client, case_a.id, "repondre", data)
    assert first.status_code == second.status_code == 302
    assert "Ce message a déjà été envoyé." in _flash(agent_a_client, second)
    bodies = db.session.scalars(db.select(Message.body).where(Message.body == "Une seule fois."))
    assert len(bodies.all()) == 1
    note = {"note_body": "Note unique", "submission_token": "note-token-1"}
    post_action(agent_a_client, case_a.id, "note", note)
    post_action(agent_a_client, case_a.id, "note", note)
    assert (
        len(db.session.scalars(db.select(Message).where(Message.body == "Note unique")).all()) == 1
    )


# --- closing, reopening, transferring, acknowledging ----------------------------------------------


def test_close_and_reopen(world: World, case_a: Case, agent_a_client: FlaskClient) -> None:
    page = page_of(agent_a_client, case_a.id)
    version = field(page, "expected_version")
    response = post_action(
        agent_a_client, case_a.id, "cloturer", {"outcome_id": "", "expected_version": version}
    )
    assert response.status_code == 400
    assert "Choisissez l'issue de la demande pour la clôturer." in text_of(response)
    response = post_action(
        agent_a_client,
        case_a.id,
        "cloturer",
        {"outcome_id": outcome_id("no_follow_up"), "expected_version": version},
    )
    assert response.status_code == 302
    assert "La demande a été clôturée." in _flash(agent_a_client, response)
    case = _reload(case_a.id)
    assert case.status is CaseStatus.CLOSED
    assert case.outcome == "Sans suite (désistement, usager injoignable)"
    assert events_of(case.id)[-1] == "closed"
    page = page_of(agent_a_client, case_a.id)
    assert "Rouvrir la demande" in page and "Clôturer sans répondre" not in page
    response = post_action(
        agent_a_client,
        case_a.id,
        "rouvrir",
        {"reason": "L'usager a rappelé.", "expected_version": field(page, "expected_version")},
    )
    assert response.status_code == 302
    case = _reload(case_a.id)
    assert case.status is CaseStatus.IN_PROGRESS and case.closed_at is None
    assert events_of(case.id)[-1] == "reopened"


def test_transfer_needs_an_office_and_a_reason_then_moves_the_case(
    world: World, case_a: Case, agent_a_client: FlaskClient, agent_b_client: FlaskClient
) -> None:
    page = page_of(agent_a_client, case_a.id)
    # Offices grouped by directorate; steering offices and our own are not offered.
    assert '<optgroup label="DDFiP du Rhône">' in page
    assert '<optgroup label="DDFiP de la Loire">' in page
    assert f'<option value="{world.office_b.id}"' in page
    assert f'<option value="{world.office_a.id}">{world.office_a.name}<' not in page
    assert f'<option value="{world.directorate.id}">{world.directorate.name}<' not in page
    version = field(page, "expected_version")
    response = post_action(
        agent_a_client,
        case_a.id,
        "transmettre",
        {"to_office_id": str(world.office_b.id), "reason": "SIE", "expected_version": version},
    )
    assert response.status_code == 400
    html = refused_and_back(agent_a_client, response)
    assert "Expliquez le motif de la transmission en une phrase au moins." in html
    assert f'<option value="{world.office_b.id}" selected>' in html
    assert ">SIE</textarea>" in html
    response = post_action(
        agent_a_client,
        case_a.id,
        "transmettre",
        {"to_office_id": "", "reason": "Une entreprise : le SIE.", "expected_version": version},
    )
    assert response.status_code == 400
    assert "Choisissez le service destinataire." in text_of(response)
    reason = "Une entreprise : le SIE est compétent."
    response = post_action(
        agent_a_client,
        case_a.id,
        "transmettre",
        {"to_office_id": str(world.office_b.id), "reason": reason, "expected_version": version},
    )
    assert response.status_code == 302
    assert "La demande a été transmise à SIE Lyon Nord." in _flash(agent_a_client, response)
    case = _reload(case_a.id)
    assert case.office_id == world.office_b.id and case.awaiting_acknowledgement is True
    transfer = db.session.scalars(db.select(Transfer)).one()
    assert transfer.reason == reason and transfer.from_office_id == world.office_a.id
    assert events_of(case.id)[-1] == "transferred"
    # The receiving office acknowledges it from the page.
    page = page_of(agent_b_client, case.id)
    assert "Prendre en compte la transmission" in page
    assert "De SIP Lyon 3e vers SIE Lyon Nord" in page
    response = post_action(agent_b_client, case.id, "prendre-en-compte")
    assert response.status_code == 302
    assert "La transmission a été prise en compte." in _flash(agent_b_client, response)
    case = _reload(case.id)
    assert case.awaiting_acknowledgement is False
    transfer = db.session.scalars(db.select(Transfer)).one()
    assert transfer.acknowledged_by_id == world.agent_b.id
    assert events_of(case.id)[-1] == "transfer_acknowledged"
    # Twice: refused with a message, nothing new.
    response = post_action(agent_b_client, case.id, "prendre-en-compte")
    assert response.status_code == 400
    assert "Cette transmission a déjà été prise en compte." in text_of(response)


# --- collisions ----------------------------------------------------------------------------------


def test_a_stale_action_is_refused_with_a_clear_message(
    world: World, case_a: Case, agent_a_client: FlaskClient, manager_client: FlaskClient
) -> None:
    page = page_of(agent_a_client, case_a.id)
    stale = field(page, "expected_version")
    # Meanwhile the manager transfers it... no: assigns it to someone else.
    other = make_agent(world.office_a, "agent")
    db.session.commit()
    manager_page = page_of(manager_client, case_a.id)
    post_action(
        manager_client,
        case_a.id,
        "attribuer",
        {"assignee_id": str(other.id), "expected_version": field(manager_page, "expected_version")},
    )
    response = post_action(
        agent_a_client,
        case_a.id,
        "cloturer",
        {"outcome_id": outcome_id("no_follow_up"), "expected_version": stale},
    )
    assert response.status_code == 302
    html = _flash(agent_a_client, response)
    assert "Cette demande a changé depuis l'ouverture de la page (attribuée, par" in html
    assert "votre action n'a pas été appliquée" in html
    case = _reload(case_a.id)
    assert case.status is not CaseStatus.CLOSED and case.assignee_id == other.id


def test_closing_a_case_someone_just_transferred_is_a_404_not_a_close(
    world: World, case_a: Case, agent_a_client: FlaskClient, manager_client: FlaskClient
) -> None:
    stale = field(page_of(agent_a_client, case_a.id), "expected_version")
    manager_page = page_of(manager_client, case_a.id)
    post_action(
        manager_client,
        case_a.id,
        "transmettre",
        {
            "to_office_id": str(world.office_b.id),
            "reason": "Relève du SIE, transmise.",
            "expected_version": field(manager_page, "expected_version"),
        },
    )
    response = post_action(
        agent_a_client,
        case_a.id,
        "cloturer",
        {"outcome_id": outcome_id("no_follow_up"), "expected_version": stale},
    )
    assert response.status_code == 404
    assert _reload(case_a.id).status is CaseStatus.NEW


def test_two_agents_replying_at_once_both_keep_their_text(
    world: World, case_a: Case, agent_a_client: FlaskClient, manager_client: FlaskClient
) -> None:
    page_agent = page_of(agent_a_client, case_a.id)
    page_manager = page_of(manager_client, case_a.id)
    # The manager's page says the agent has it open (and the other way round on reload).
    assert f"{world.agent_a.full_name} consulte aussi cette demande." in page_manager
    for client, page, body in (
        (agent_a_client, page_agent, "Réponse de l'agent."),
        (manager_client, page_manager, "Réponse du chef de service."),
    ):
        response = post_action(
            client,
            case_a.id,
            "repondre",
            {
                "kind": "reponse",
                "body": body,
                "submission_token": field(page, "submission_token"),
                "last_message_id": field(page, "last_message_id"),
            },
        )
        assert response.status_code == 302
    # The second one is told a message came in meanwhile.
    notice = _flash(manager_client, response)
    assert "Un nouveau message a été ajouté depuis l'ouverture de la page" in notice
    bodies = db.session.scalars(
        db.select(Message.body).where(Message.case_id == case_a.id).order_by(Message.id)
    ).all()
    assert bodies[-2:] == ["Réponse de l'agent.", "Réponse du chef de service."]


def test_the_heartbeat_tells_who_else_is_there_and_what_is_new(
    world: World, case_a: Case, agent_a_client: FlaskClient, manager_client: FlaskClient
) -> None:
    page = page_of(agent_a_client, case_a.id)
    last = field(page, "last_message_id")
    token = agent_csrf(agent_a_client)
    beat = agent_a_client.post(
        f"/agent/demandes/{case_a.id}/presence",
        data={"last_message_id": last, "version": str(case_a.version)},
        headers={"X-CSRFToken": token},
    )
    assert beat.status_code == 200 and beat.get_json()["notices"] == []
    page_of(manager_client, case_a.id)
    operations.reply_to_case(agent=world.manager_a, case=_reload(case_a.id), body="Déjà traité.")
    db.session.commit()
    beat = agent_a_client.post(
        f"/agent/demandes/{case_a.id}/presence",
        data={"last_message_id": last, "version": str(case_a.version)},
        headers={"X-CSRFToken": token},
    )
    notices = beat.get_json()["notices"]
    assert f"{world.manager_a.full_name} consulte aussi cette demande." in notices
    assert "Un nouveau message a été ajouté depuis l'ouverture de la page." in notices
    # Marks expire: a viewer seen long ago is not reported.
    presence.mark(case_a.id, 424242, "Ancien Agent", now=0.0)
    assert "Ancien Agent" not in [v.name for v in presence.viewers(case_a.id)]
