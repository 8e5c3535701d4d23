"""Issue 16, the taxpayer's part: the receipt of a case (PDF), withdrawing a case, changing
the password from "Mon compte", and the data export as PDF and CSV."""

from __future__ import annotations

import csv
import html
import io
from typing import Any

import pytest
from factories import PASSWORD, World, make_contact, make_topic
from flask import Flask
from flask.testing import FlaskClient
from helpers import csrf_token
from pypdf import PdfReader
from sqlalchemy import select
from test_taxpayer_auth import mails_to, text_of
from werkzeug.security import check_password_hash

from app.cases import operations
from app.platform.templating import format_datetime
from models import Case, CaseStatus, Event, EventKind, Taxpayer, Topic, db


@pytest.fixture
def topic(world: World) -> Topic:
    made = make_topic("Question générale")
    db.session.commit()
    return made


def submit(world: World, topic: Topic, subject: str = "Ma question sur l'impôt") -> Case:
    case = operations.submit_case(
        taxpayer=world.taxpayer_a,
        topic=topic,
        tax_matter=None,
        tax_year=None,
        subject=subject,
        body="Bonjour, voici ma question.",
    )
    db.session.commit()
    return case


def pdf_text(body: bytes) -> str:
    reader = PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages)


# --- the receipt -----------------------------------------------------------------------------


def test_the_receipt_names_reference_date_office_and_topic(
    taxpayer_client: FlaskClient, world: World, topic: Topic
) -> None:
    case = submit(world, topic, subject="Dégrèvement « taxe foncière » – œuvre")
    page = taxpayer_client.get(f"/espace/demandes/{case.reference}").get_data(as_text=True)
    assert f'href="/espace/demandes/{case.reference}/recepisse.pdf"' in page
    response = taxpayer_client.get(f"/espace/demandes/{case.reference}/recepisse.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="recepisse-{case.reference}.pdf"'
    )
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.data.startswith(b"%PDF-")
    text = pdf_text(response.data)
    for expected in (
        "Récépissé de demande",
        case.reference,
        format_datetime(case.received_at),
        "SIP Lyon 3e",
        "Question générale",
        "Dégrèvement « taxe foncière » – œuvre",  # French characters print (embedded font)
        world.taxpayer_a.tax_number or "",
    ):
        assert expected in text, expected


def test_a_recorded_contact_gets_an_attestation_not_a_receipt_of_a_sent_case(
    taxpayer_client: FlaskClient, world: World
) -> None:
    case = make_contact(world.agent_a, world.taxpayer_a, subject="Visite au guichet")
    db.session.commit()
    text = pdf_text(taxpayer_client.get(f"/espace/demandes/{case.reference}/recepisse.pdf").data)
    assert "Attestation de contact" in text and "Récépissé" not in text
    assert "Guichet" in text and "SIP Lyon 3e" in text


def test_someone_elses_receipt_is_a_404(
    app: Flask, world: World, topic: Topic, taxpayer_client: FlaskClient
) -> None:
    from helpers import sign_in_taxpayer

    case = submit(world, topic)
    other = sign_in_taxpayer(app.test_client(), world.taxpayer_b)
    assert other.get(f"/espace/demandes/{case.reference}/recepisse.pdf").status_code == 404
    hidden = make_contact(world.agent_a, world.taxpayer_a, visible=False)
    db.session.commit()
    url = f"/espace/demandes/{hidden.reference}/recepisse.pdf"
    assert taxpayer_client.get(url).status_code == 404


# --- withdrawal ------------------------------------------------------------------------------


def test_a_case_not_yet_answered_is_withdrawn_kept_and_recorded(
    taxpayer_client: FlaskClient, agent_a_client: FlaskClient, world: World, topic: Topic
) -> None:
    case = submit(world, topic)
    thread = f"/espace/demandes/{case.reference}"
    page = taxpayer_client.get(thread).get_data(as_text=True)
    assert f'href="{thread}/retirer"' in page
    confirm = html.unescape(taxpayer_client.get(f"{thread}/retirer").get_data(as_text=True))
    assert "Votre demande ne sera pas traitée" in confirm
    response = taxpayer_client.post(
        f"{thread}/retirer",
        data={"csrf_token": csrf_token(taxpayer_client, f"{thread}/retirer"), "reason": "Réglé"},
    )
    assert response.status_code == 302 and response.location.endswith(thread)
    db.session.expire_all()
    kept = db.session.get(Case, case.id)
    assert kept is not None
    assert kept.status is CaseStatus.CLOSED and kept.withdrawn_at is not None
    assert kept.first_answer_at is None and kept.outcome == "Retirée par l'usager"
    event = db.session.scalar(
        select(Event).where(Event.case_id == case.id, Event.kind == EventKind.WITHDRAWN)
    )
    assert event is not None and event.data["reason"] == "Réglé"
    assert event.actor_taxpayer_id == world.taxpayer_a.id
    page = html.unescape(taxpayer_client.get(thread).get_data(as_text=True))
    assert "Vous avez retiré cette demande le" in page and "Retirée" in page
    assert "Retirer ma demande" not in page
    assert 'action="/espace/demandes/' not in page.split('id="repondre"')[1]  # no reply form
    # Agents see it withdrawn.
    agent_page = html.unescape(
        agent_a_client.get(f"/agent/demandes/{case.id}").get_data(as_text=True)
    )
    assert "Retirée par l'usager" in agent_page


def test_an_answered_case_cannot_be_withdrawn(
    taxpayer_client: FlaskClient, world: World, topic: Topic
) -> None:
    case = submit(world, topic)
    thread = f"/espace/demandes/{case.reference}"
    token = csrf_token(taxpayer_client, f"{thread}/retirer")
    operations.reply_to_case(agent=world.agent_a, case=case, body="Voici notre réponse.")
    db.session.commit()
    assert "Retirer ma demande" not in taxpayer_client.get(thread).get_data(as_text=True)
    response = taxpayer_client.post(f"{thread}/retirer", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).withdrawn_at is None  # type: ignore[union-attr]
    # Nor a recorded contact, which the taxpayer did not send.
    contact = make_contact(world.agent_a, world.taxpayer_a, disposition="kept")
    db.session.commit()
    url = f"/espace/demandes/{contact.reference}/retirer"
    taxpayer_client.post(url, data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Case, contact.id).withdrawn_at is None  # type: ignore[union-attr]


def test_an_agent_reopening_a_withdrawn_case_clears_the_withdrawal(
    world: World, topic: Topic
) -> None:
    case = submit(world, topic)
    operations.withdraw_case(taxpayer=world.taxpayer_a, case=case)
    db.session.commit()
    assert not operations.may_taxpayer_reopen(case)
    operations.reopen_case(agent=world.agent_a, case=case, reason="Retrait par erreur")
    db.session.commit()
    assert case.withdrawn_at is None and case.is_open


# --- change of password ------------------------------------------------------------------------


def test_the_password_changes_with_the_current_one_and_the_owner_is_told(
    app: Flask, taxpayer_client: FlaskClient, world: World, smtp_server: Any
) -> None:
    new = "un nouveau mot de passe solide"

    def post(**fields: str) -> Any:
        data = {"csrf_token": csrf_token(taxpayer_client, "/espace/compte"), **fields}
        return taxpayer_client.post("/espace/compte/mot-de-passe", data=data)

    wrong = post(old_password="faux", new_password=new, new_password_confirm=new)
    assert wrong.status_code == 400
    assert "Ce mot de passe n&#39;est pas le bon." in wrong.get_data(as_text=True)
    short = post(old_password=PASSWORD, new_password="court", new_password_confirm="court")
    assert short.status_code == 400
    assert "au moins 12 caractères" in short.get_data(as_text=True)
    mismatch = post(old_password=PASSWORD, new_password=new, new_password_confirm=new + "x")
    assert mismatch.status_code == 400
    ok = post(old_password=PASSWORD, new_password=new, new_password_confirm=new)
    assert ok.status_code == 302
    assert "ec_browser=" in ok.headers.get("Set-Cookie", "")  # this browser stays trusted
    db.session.expire_all()
    taxpayer = db.session.get(Taxpayer, world.taxpayer_a.id)
    assert taxpayer is not None and check_password_hash(taxpayer.password_hash or "", new)
    mail = mails_to(app, smtp_server, taxpayer.email or "")[-1]
    assert "vient d'être modifié" in text_of(mail)
    assert new not in text_of(mail)


def test_the_account_page_offers_password_email_and_three_exports(
    taxpayer_client: FlaskClient,
) -> None:
    page = taxpayer_client.get("/espace/compte").get_data(as_text=True)
    for needle in (
        'action="/espace/compte/mot-de-passe"',
        'action="/espace/compte/courriel"',
        'href="/espace/compte/export.pdf"',
        'href="/espace/compte/export.csv"',
        'href="/espace/compte/export"',
    ):
        assert needle in page
    # One id per field on the page (both forms ask for the current password).
    assert page.count('id="current_password"') == 1 and page.count('id="old_password"') == 1


# --- the data export as PDF and CSV --------------------------------------------------------------


def test_the_export_as_pdf_reads_like_the_space(
    taxpayer_client: FlaskClient, world: World, topic: Topic
) -> None:
    case = submit(world, topic, subject="Question sur mon échéancier")
    operations.add_note(agent=world.agent_a, case=case, body="Note interne cachée")
    operations.reply_to_case(agent=world.agent_a, case=case, body="Réponse du service")
    db.session.commit()
    response = taxpayer_client.get("/espace/compte/export.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].endswith('.pdf"')
    text = pdf_text(response.data)
    for expected in (
        world.taxpayer_a.tax_number or "",
        world.taxpayer_a.email or "",
        case.reference,
        "Question sur mon échéancier",
        "Bonjour, voici ma question.",
        "Réponse du service",
    ):
        assert expected in text, expected
    assert "Note interne cachée" not in text


def test_the_export_as_csv_neutralises_formulas(
    taxpayer_client: FlaskClient, world: World, topic: Topic
) -> None:
    case = operations.submit_case(
        taxpayer=world.taxpayer_a,
        topic=topic,
        tax_matter=None,
        tax_year=None,
        subject='=HYPERLINK("http://evil.example","clic")',
        body="+33 6 00 00 00 00\n@SUM(A1:A2)",
    )
    operations.add_note(agent=world.agent_a, case=case, body="Note interne cachée")
    db.session.commit()
    response = taxpayer_client.get("/espace/compte/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "Référence" and len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Objet"] == '\'=HYPERLINK("http://evil.example","clic")'
    assert row["Message"] == "'+33 6 00 00 00 00\n@SUM(A1:A2)"
    assert row["Auteur"] == "Vous"
    assert "Note interne cachée" not in body
