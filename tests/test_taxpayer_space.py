"""The taxpayer's space over HTTP: new case, inbox, thread, replies, history, attachments."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import World, make_case, make_tax_matter, make_topic
from flask import Flask
from flask.testing import FlaskClient
from helpers import count_queries, csrf_token, run_jobs
from sqlalchemy import func, select

from app.cases import operations
from app.directory import settings
from app.directory.operations import store_setting
from models import (
    Attachment,
    AuthorKind,
    Case,
    CaseStatus,
    Channel,
    Message,
    TaxpayerKind,
    Topic,
    db,
    utcnow,
)

DATA = Path(__file__).parent / "data"
NEW = "/espace/demandes/nouvelle"
_TOKEN = re.compile(r'name="submission_token" value="([^"]+)"')


@pytest.fixture
def topics(world: World) -> dict[str, Topic]:
    claim = make_topic("Réclamation")
    contest = make_topic("Contester le montant de mon impôt", parent=claim)
    question = make_topic("Question générale")
    business = make_topic("TVA intracommunautaire")
    business.taxpayer_kind = TaxpayerKind.BUSINESS
    retired = make_topic("Ancien motif")
    retired.active = False
    db.session.commit()
    return {
        "claim": claim,
        "contest": contest,
        "question": question,
        "business": business,
        "retired": retired,
    }


def file(name: str, source: str | None = None) -> tuple[io.BytesIO, str]:
    return io.BytesIO((DATA / (source or name)).read_bytes()), name


def form_token(client: FlaskClient, url: str) -> tuple[str, str]:
    page = client.get(url).get_data(as_text=True)
    match = _TOKEN.search(page)
    assert match, page[:2000]
    return csrf_token(client, url), match.group(1)


def post_case(
    client: FlaskClient, data: dict[str, Any], *, token: str | None = None, **kwargs: Any
) -> Any:
    csrf, drawn = form_token(client, NEW)
    payload = {"csrf_token": csrf, "submission_token": token or drawn, **data}
    return client.post(NEW, data=payload, content_type="multipart/form-data", **kwargs)


def good_case(topics: dict[str, Topic], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "topic": str(topics["contest"].id),
        "tax_matter": "",
        "tax_year": "",
        "subject": "Mon avis 2025",
        "body": "Bonjour, je conteste le montant.",
    }
    data.update(changes)
    return data


def case_count() -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(Case)) or 0)


# --- the new-case form ------------------------------------------------------------------------


def test_new_case_form_offers_the_right_topics_and_states_the_limits(
    taxpayer_client: FlaskClient, topics: dict[str, Topic]
) -> None:
    page = taxpayer_client.get(NEW).get_data(as_text=True)
    assert "Nouvelle demande – Messagerie sécurisée" in page
    assert '<optgroup label="Réclamation">' in page
    assert "Contester le montant de mon impôt" in page
    assert "Question générale" in page
    assert "TVA intracommunautaire" not in page  # businesses only
    assert "Ancien motif" not in page  # inactive
    assert "Formats acceptés : PDF, JPEG ou PNG" in page
    assert "Taille maximale : 10 Mo par fichier. 5 fichiers au plus." in page
    assert 'type="file" id="files" name="files" multiple' in page
    assert _TOKEN.search(page)


def test_a_case_with_an_attachment_is_routed_and_confirmed_with_its_reference(
    taxpayer_client: FlaskClient, topics: dict[str, Topic], world: World
) -> None:
    response = post_case(taxpayer_client, {**good_case(topics), "files": [file("avis.pdf")]})
    assert response.status_code == 302
    case = db.session.scalar(select(Case))
    assert case is not None
    assert response.headers["Location"].endswith(f"/espace/demandes/{case.reference}/envoyee")
    assert case.office_id == world.office_a.id
    assert case.taxpayer_id == world.taxpayer_a.id and case.channel is Channel.ONLINE
    attachment = db.session.scalar(select(Attachment))
    assert attachment is not None and attachment.filename == "avis.pdf"
    confirmation = taxpayer_client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Référence à rappeler : {case.reference}" in confirmation
    assert "SIP Lyon 3e" in confirmation
    assert "Et maintenant ?" in confirmation
    assert f'data-draft-clear="new-request:{world.taxpayer_a.id}"' in confirmation
    inbox = taxpayer_client.get("/espace/").get_data(as_text=True)
    assert case.reference in inbox and "Mon avis 2025" in inbox and "Envoyée" in inbox


def test_the_same_form_posted_twice_gives_one_case(
    taxpayer_client: FlaskClient, topics: dict[str, Topic]
) -> None:
    first = post_case(taxpayer_client, good_case(topics), token="double-click-token")
    second = post_case(taxpayer_client, good_case(topics), token="double-click-token")
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert case_count() == 1


def test_a_race_on_the_same_token_gives_one_case(
    app: Flask, taxpayer_client: FlaskClient, topics: dict[str, Topic], world: World
) -> None:
    """Two posts at the same moment: the loser hits the unique token and shows the winner's."""
    first = post_case(taxpayer_client, good_case(topics), token="race-token")
    real_submit = operations.submit_case
    calls: list[str] = []

    def racing_submit(**kwargs: Any) -> Case:
        # As if the other post had not committed yet when this one looked for the token.
        calls.append("x")
        kwargs["submission_token"] = "race-token"
        case = Case(
            reference="26-RACE-0001",
            taxpayer_id=kwargs["taxpayer"].id,
            channel=Channel.ONLINE,
            topic_id=kwargs["topic"].id,
            subject="x",
            status=CaseStatus.NEW,
            office_id=world.office_a.id,
            submission_token="race-token",
        )
        db.session.add(case)
        return case

    operations.submit_case = racing_submit  # type: ignore[assignment]
    try:
        second = post_case(taxpayer_client, good_case(topics), token="race-token")
    finally:
        operations.submit_case = real_submit  # type: ignore[assignment]
    assert calls
    assert second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert case_count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"files": [file("avis.pdf", "page.html.pdf")]},
            "n&#39;est pas un PDF, un JPEG ou un PNG",
        ),
        ({"files": [file(f"p{n}.png", "photo.png") for n in range(6)]}, "au plus 5 fichiers"),
        ({"body": "   "}, "Écrivez votre message."),
        ({"subject": ""}, "Saisissez l&#39;objet de votre demande."),
        ({"topic": "999999"}, "Choisissez un motif dans la liste."),
        ({"topic": "abc"}, "Choisissez un motif dans la liste."),
        ({"topic": "business"}, "Choisissez un motif dans la liste."),
        ({"topic": "retired"}, "Choisissez un motif dans la liste."),
        ({"topic": "claim"}, "Choisissez un motif dans la liste."),  # a parent with sub-topics
        ({"tax_matter": "999999"}, "Choisissez un impôt dans la liste."),
        ({"tax_matter": "ir"}, "Choisissez l&#39;année concernée."),
        ({"tax_matter": "ir", "tax_year": "1990"}, "Choisissez une année dans la liste."),
    ],
)
def test_bad_input_is_refused_in_french_and_keeps_what_was_typed(
    taxpayer_client: FlaskClient, topics: dict[str, Topic], change: dict[str, Any], message: str
) -> None:
    data = good_case(topics, subject="Objet conservé", body="Texte conservé")
    data.update(change)
    if data["topic"] in topics:
        data["topic"] = str(topics[data["topic"]].id)
    if data["tax_matter"] == "ir":
        data["tax_matter"] = str(make_tax_matter("Impôt sur le revenu").id)
        db.session.commit()
    response = post_case(taxpayer_client, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert "Votre envoi n’est pas parti" in page
    assert "les pièces jointes sont à choisir à nouveau" in page
    if data["subject"]:
        assert 'value="Objet conservé"' in page
    if data["body"].strip():
        assert "Texte conservé</textarea>" in page
    assert case_count() == 0
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_a_too_large_file_is_refused(
    app: Flask,
    taxpayer_client: FlaskClient,
    topics: dict[str, Topic],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 100)
    page = taxpayer_client.get(NEW).get_data(as_text=True)
    assert "Taille maximale : 1 ko par fichier" in page
    response = post_case(taxpayer_client, {**good_case(topics), "files": [file("avis.pdf")]})
    assert response.status_code == 400
    assert "dépasse la taille autorisée (1 ko)" in response.get_data(as_text=True)
    assert case_count() == 0


def test_the_year_is_kept_when_the_tax_asks_for_it(
    taxpayer_client: FlaskClient, topics: dict[str, Topic]
) -> None:
    matter = make_tax_matter("Impôt sur le revenu")
    no_year = make_tax_matter("Prélèvement à la source")
    no_year.asks_year = False
    db.session.commit()
    year = str(utcnow().year - 1)
    post_case(taxpayer_client, good_case(topics, tax_matter=str(matter.id), tax_year=year))
    post_case(taxpayer_client, good_case(topics, tax_matter=str(no_year.id), tax_year=year))
    db.session.expire_all()
    years = {c.tax_matter_id: c.tax_year for c in db.session.scalars(select(Case))}
    assert years == {matter.id: int(year), no_year.id: None}


def test_intake_paused_replaces_the_form_with_the_reopening_date(
    taxpayer_client: FlaskClient, topics: dict[str, Topic]
) -> None:
    store_setting(settings.INTAKE, {"paused": True, "reopens_on": "2026-12-07"}, by=None)
    db.session.commit()
    csrf = csrf_token(taxpayer_client, "/espace/compte")
    page = taxpayer_client.get(NEW).get_data(as_text=True)
    assert "Le dépôt de nouvelles demandes est momentanément suspendu" in page
    assert "07/12/2026" in page
    assert 'name="topic"' not in page
    inbox = taxpayer_client.get("/espace/").get_data(as_text=True)
    assert "07/12/2026" in inbox
    response = taxpayer_client.post(
        NEW, data={"csrf_token": csrf, "submission_token": "t-paused", **good_case(topics)}
    )
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert "momentanément suspendu" in body
    assert "Bonjour, je conteste le montant.</textarea>" in body  # to copy, nothing lost
    assert case_count() == 0


def test_signed_out_visitors_are_sent_to_the_login(anonymous_client: FlaskClient) -> None:
    for url in ("/espace/", NEW, "/espace/historique", "/espace/compte", "/espace/compte/export"):
        response = anonymous_client.get(url)
        assert response.status_code == 302
        assert "/espace/connexion?next=" in response.headers["Location"]


# --- inbox --------------------------------------------------------------------------------------


def test_inbox_newest_activity_first_with_unread_marker_and_pages(
    app: Flask, taxpayer_client: FlaskClient, world: World
) -> None:
    topic = make_topic("Question générale")
    now = utcnow()
    for n in range(23):
        case = make_case(world.taxpayer_a, world.office_a, topic=topic, subject=f"Demande {n:02d}")
        case.last_activity_at = now - timedelta(hours=n)
    unread = make_case(world.taxpayer_a, world.office_b, topic=topic, subject="Demande lue ?")
    unread.last_activity_at = now - timedelta(hours=5, minutes=30)
    unread.unread_by_taxpayer = True
    make_case(world.taxpayer_b, world.office_a, topic=topic, subject="Pas à moi")
    db.session.commit()

    with count_queries(app) as statements:
        first = taxpayer_client.get("/espace/").get_data(as_text=True)
    queries_first = len(statements)
    with count_queries(app) as statements:
        second = taxpayer_client.get("/espace/?page=2").get_data(as_text=True)
    queries_second = len(statements)
    assert "Pas à moi" not in first + second
    subjects = re.findall(r">(Demande [^<]+)</a>", first)
    assert subjects[:7] == [
        "Demande 00",
        "Demande 01",
        "Demande 02",
        "Demande 03",
        "Demande 04",
        "Demande 05",
        "Demande lue ?",
    ]
    assert len(subjects) == 20
    assert first.count("Nouveau message") == 1
    assert "Page suivante" in first and 'href="/espace/?page=2"' in first
    assert len(re.findall(r">(Demande [^<]+)</a>", second)) == 4
    assert "Demande 22" in second
    assert "SIE Lyon Nord" in first and "Question générale" in first
    assert "En cours de traitement" not in first and "Envoyée" in first
    # The page does not run one query per row.
    assert queries_first <= 8 and queries_second <= 8, (queries_first, queries_second)
    assert taxpayer_client.get("/espace/?page=abc").status_code == 200
    assert taxpayer_client.get("/espace/?page=100000").status_code == 200


# --- thread -------------------------------------------------------------------------------------


@pytest.fixture
def answered_case(world: World, topics: dict[str, Topic]) -> Case:
    case = operations.submit_case(
        taxpayer=world.taxpayer_a,
        topic=topics["contest"],
        tax_matter=None,
        tax_year=None,
        subject="Ma taxe d'habitation",
        body="Première question de l'usager.",
        submission_token="answered-case",
    )
    operations.add_note(agent=world.agent_a, case=case, body="NOTE INTERNE SECRÈTE")
    operations.reply_to_case(
        agent=world.agent_a,
        case=case,
        body="Réponse publique du service.",
        files=[
            operations.IncomingFile("reponse.pdf", io.BytesIO((DATA / "avis.pdf").read_bytes()))
        ],
    )
    db.session.commit()
    return case


def test_thread_shows_public_messages_as_the_office_and_marks_them_read(
    taxpayer_client: FlaskClient, answered_case: Case, world: World
) -> None:
    assert answered_case.unread_by_taxpayer
    page = taxpayer_client.get(f"/espace/demandes/{answered_case.reference}").get_data(as_text=True)
    assert f"Demande {answered_case.reference} – Messagerie sécurisée" in page
    assert "Première question de l&#39;usager." in page
    assert "Réponse publique du service." in page
    assert "NOTE INTERNE SECRÈTE" not in page
    assert page.index("Première question") < page.index("Réponse publique")
    assert "<strong>SIP Lyon 3e</strong>" in page
    assert world.agent_a.last_name not in page
    assert "reponse.pdf" in page
    assert "En cours de traitement" in page and "Et maintenant ?" in page
    db.session.expire_all()
    case = db.session.get(Case, answered_case.id)
    assert case is not None and not case.unread_by_taxpayer
    reply = db.session.scalar(select(Message).where(Message.body == "Réponse publique du service."))
    assert reply is not None and reply.read_at is not None


def test_agent_names_are_shown_when_the_administration_chooses_so(
    taxpayer_client: FlaskClient, answered_case: Case, world: World
) -> None:
    store_setting(settings.MESSAGING, {"show_agent_names": True}, by=None)
    db.session.commit()
    page = taxpayer_client.get(f"/espace/demandes/{answered_case.reference}").get_data(as_text=True)
    assert f"{world.agent_a.full_name}, SIP Lyon 3e" in page


def test_a_transfer_shows_the_new_office_without_the_internal_reason(
    taxpayer_client: FlaskClient, answered_case: Case, world: World
) -> None:
    operations.transfer_case(
        agent=world.agent_a,
        case=answered_case,
        to_office=world.office_b,
        reason="Motif interne confidentiel : dossier professionnel.",
    )
    db.session.commit()
    page = taxpayer_client.get(f"/espace/demandes/{answered_case.reference}").get_data(as_text=True)
    assert "Demande transmise au service SIE Lyon Nord le" in page
    assert "Motif interne confidentiel" not in page
    assert "Service en charge</dt><dd>SIE Lyon Nord" in page


def test_attachments_download_for_their_owner_only(
    taxpayer_client: FlaskClient,
    taxpayer_b_client: FlaskClient,
    anonymous_client: FlaskClient,
    answered_case: Case,
    world: World,
) -> None:
    attachment = db.session.scalar(select(Attachment))
    assert attachment is not None
    url = f"/espace/pieces-jointes/{attachment.id}"
    response = taxpayer_client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "reponse.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.data == (DATA / "avis.pdf").read_bytes()
    response.close()
    assert taxpayer_b_client.get(url).status_code == 404
    assert taxpayer_client.get("/espace/pieces-jointes/999999").status_code == 404
    assert anonymous_client.get(url).status_code == 302
    # A file attached to an internal note is not the taxpayer's either.
    operations.add_note(
        agent=world.agent_a,
        case=answered_case,
        body="Pièce interne",
        files=[
            operations.IncomingFile("interne.png", io.BytesIO((DATA / "photo.png").read_bytes()))
        ],
    )
    db.session.commit()
    internal = db.session.scalar(select(Attachment).where(Attachment.filename == "interne.png"))
    assert internal is not None
    assert taxpayer_client.get(f"/espace/pieces-jointes/{internal.id}").status_code == 404


def test_another_taxpayers_case_is_a_404_everywhere(
    taxpayer_b_client: FlaskClient, answered_case: Case
) -> None:
    ref = answered_case.reference
    assert taxpayer_b_client.get(f"/espace/demandes/{ref}").status_code == 404
    assert taxpayer_b_client.get(f"/espace/demandes/{ref}/envoyee").status_code == 404
    csrf = csrf_token(taxpayer_b_client, "/espace/compte")
    response = taxpayer_b_client.post(
        f"/espace/demandes/{ref}/repondre",
        data={"csrf_token": csrf, "body": "intrusion", "submission_token": "b-1"},
    )
    assert response.status_code == 404
    assert db.session.scalar(select(Message).where(Message.body == "intrusion")) is None
    assert taxpayer_b_client.get("/espace/demandes/26-XXXX-XXXX").status_code == 404


# --- replies ------------------------------------------------------------------------------------


def post_reply(client: FlaskClient, case: Case, data: dict[str, Any]) -> Any:
    url = f"/espace/demandes/{case.reference}"
    csrf, token = form_token(client, url)
    payload = {"csrf_token": csrf, "submission_token": token, **data}
    return client.post(url + "/repondre", data=payload, content_type="multipart/form-data")


def test_a_reply_is_added_once_with_its_attachment(
    taxpayer_client: FlaskClient, answered_case: Case, world: World
) -> None:
    url = f"/espace/demandes/{answered_case.reference}"
    csrf, token = form_token(taxpayer_client, url)
    payload = {"csrf_token": csrf, "submission_token": token, "body": "Merci, voici la pièce."}
    first = taxpayer_client.post(
        url + "/repondre",
        data={**payload, "files": [file("photo.png")]},
        content_type="multipart/form-data",
    )
    again = taxpayer_client.post(
        url + "/repondre",
        data={**payload, "files": [file("photo.png")]},
        content_type="multipart/form-data",
    )
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"].endswith(f"{url}?envoye=1")
    db.session.expire_all()
    replies = db.session.scalars(
        select(Message).where(Message.body == "Merci, voici la pièce.")
    ).all()
    assert len(replies) == 1 and [a.filename for a in replies[0].attachments] == ["photo.png"]
    page = taxpayer_client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Votre message a été envoyé." in page
    assert f'data-draft-clear="reply:{world.taxpayer_a.id}:{answered_case.reference}"' in page
    case = db.session.get(Case, answered_case.id)
    assert case is not None and case.unread_by_office


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": ""}, "Écrivez votre message."),
        (
            {"body": "Texte gardé", "files": [file("avis.pdf", "page.html.pdf")]},
            "n&#39;est pas un PDF, un JPEG ou un PNG",
        ),
    ],
)
def test_a_bad_reply_is_refused_and_keeps_the_text(
    taxpayer_client: FlaskClient, answered_case: Case, data: dict[str, Any], message: str
) -> None:
    before = db.session.scalar(select(func.count()).select_from(Message))
    response = post_reply(taxpayer_client, answered_case, data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    if data["body"]:
        assert "Texte gardé</textarea>" in page
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Message)) == before


def test_a_closed_case_reopens_on_a_reply_within_the_period(
    taxpayer_client: FlaskClient, answered_case: Case, world: World
) -> None:
    operations.close_case(agent=world.agent_a, case=answered_case, outcome="Réponse apportée")
    db.session.commit()
    page = taxpayer_client.get(f"/espace/demandes/{answered_case.reference}").get_data(as_text=True)
    assert "Répondue et clôturée" in page
    assert "Vous pouvez encore y répondre jusqu’au" in page
    response = post_reply(taxpayer_client, answered_case, {"body": "Je ne suis pas d'accord."})
    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, answered_case.id)
    assert case is not None and case.status is CaseStatus.IN_PROGRESS


def test_past_the_period_a_reply_is_refused_and_a_linked_case_is_offered(
    taxpayer_client: FlaskClient, answered_case: Case, world: World, topics: dict[str, Topic]
) -> None:
    operations.close_case(agent=world.agent_a, case=answered_case, outcome="Réponse apportée")
    answered_case.closed_at = utcnow() - timedelta(days=31)
    db.session.commit()
    url = f"/espace/demandes/{answered_case.reference}"
    page = taxpayer_client.get(url).get_data(as_text=True)
    assert 'name="body"' not in page
    link = f"/espace/demandes/nouvelle?suite={answered_case.reference}"
    assert f'href="{link}"' in page
    csrf = csrf_token(taxpayer_client, url)
    response = taxpayer_client.post(
        url + "/repondre", data={"csrf_token": csrf, "body": "Trop tard", "submission_token": "z"}
    )
    assert response.status_code == 400
    assert "clôturée depuis plus de 30 jours" in response.get_data(as_text=True)
    form = taxpayer_client.get(link).get_data(as_text=True)
    assert f"fera suite à votre demande {answered_case.reference}" in form
    assert f"Suite de la demande {answered_case.reference}" in form
    response = post_case(
        taxpayer_client, good_case(topics, suite=answered_case.reference, subject="Suite")
    )
    assert response.status_code == 302
    new = db.session.scalar(select(Case).where(Case.subject == "Suite"))
    assert new is not None and new.linked_case_id == answered_case.id
    thread = taxpayer_client.get(f"/espace/demandes/{new.reference}").get_data(as_text=True)
    assert f"la demande {answered_case.reference}" in thread


def test_replies_follow_the_intake_setting(
    taxpayer_client: FlaskClient, answered_case: Case
) -> None:
    store_setting(settings.INTAKE, {"paused": True, "replies_allowed": True}, by=None)
    db.session.commit()
    url = f"/espace/demandes/{answered_case.reference}"
    assert 'name="body"' in taxpayer_client.get(url).get_data(as_text=True)
    store_setting(settings.INTAKE, {"paused": True, "replies_allowed": False}, by=None)
    db.session.commit()
    page = taxpayer_client.get(url).get_data(as_text=True)
    assert "L’envoi de messages est momentanément suspendu" in page
    assert 'name="body"' not in page
    csrf = csrf_token(taxpayer_client, url)
    response = taxpayer_client.post(
        url + "/repondre",
        data={"csrf_token": csrf, "body": "Pendant la pause", "submission_token": "p"},
    )
    assert response.status_code == 400
    assert db.session.scalar(select(Message).where(Message.body == "Pendant la pause")) is None


# --- history ------------------------------------------------------------------------------------


def test_history_shows_recorded_contacts_visible_to_the_taxpayer(
    taxpayer_client: FlaskClient, world: World, topics: dict[str, Topic]
) -> None:
    operations.record_contact(
        agent=world.agent_a,
        channel=Channel.PHONE,
        taxpayer=world.taxpayer_a,
        topic=topics["question"],
        subject="Appel sur mon échéancier",
        summary="L'usager a appelé.",
        disposition=operations.HANDLED,
        visible_to_taxpayer=True,
    )
    operations.record_contact(
        agent=world.agent_a,
        channel=Channel.COUNTER,
        taxpayer=world.taxpayer_a,
        topic=topics["question"],
        subject="Visite cachée",
        summary="Non visible.",
        disposition=operations.HANDLED,
        visible_to_taxpayer=False,
    )
    make_case(world.taxpayer_a, world.office_a, topic=topics["question"], subject="En ligne")
    db.session.commit()
    page = taxpayer_client.get("/espace/historique").get_data(as_text=True)
    assert "Historique de mes échanges – Messagerie sécurisée" in page
    assert "Appel sur mon échéancier" in page and "Téléphone" in page
    assert "En ligne" in page and "Internet" in page
    assert "Visite cachée" not in page
    assert "<caption>" in page


# --- the e-mail alert, end to end ---------------------------------------------------------------


def test_an_agents_answer_alerts_the_taxpayer_by_a_mail_without_content(
    app: Flask,
    taxpayer_client: FlaskClient,
    topics: dict[str, Topic],
    world: World,
    smtp_server: Any,
) -> None:
    post_case(taxpayer_client, good_case(topics, subject="Ma pension alimentaire"))
    case = db.session.scalar(select(Case))
    assert case is not None
    operations.reply_to_case(
        agent=world.agent_a, case=case, body="Votre pension est déductible à 100 %."
    )
    db.session.commit()
    assert run_jobs(app) == 1
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert mail["To"] == world.taxpayer_a.email
    assert "/espace/connexion" in body
    for secret in ("pension", "déductible", case.reference, "Réclamation", "Contester"):
        assert secret not in body and secret not in str(mail["Subject"])
    # The taxpayer then finds it, unread, in the inbox.
    inbox = taxpayer_client.get("/espace/").get_data(as_text=True)
    assert "Nouveau message" in inbox
    db.session.expire_all()
    messages = db.session.scalars(select(Message).where(Message.case_id == case.id)).all()
    assert [m.author_kind for m in messages] == [AuthorKind.TAXPAYER, AuthorKind.AGENT]
