"""A taxpayer's whole journey in Chromium: create the space, confirm the e-mail, sign in with the
new-browser code, write a case with an attachment, get an agent's answer and its alert,
reply. axe on every page, a screenshot of every page, nothing loaded from outside 127.0.0.1."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from axe import assert_accessible
from factories import make_agent, make_office, make_taxpayer, make_topic
from harness import screenshot
from helpers import run_jobs
from sqlalchemy import select

from app.cases import operations
from app.platform.queue import get_redis
from app.taxpayers.operations import set_activation_data
from models import Case, KindCode, db

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parents[1] / "data"
LINK = re.compile(r"http://127\.0\.0\.1:5000(/espace/\S+)")
PASSWORD = "une phrase de passe solide"


def last_mail_to(app: Any, smtp_server: Any, recipient: str) -> Any:
    run_jobs(app)
    mails = [m for m in smtp_server.messages if m["To"] == recipient]
    assert mails, f"no mail to {recipient}"
    return mails[-1]


def body_of(mail: Any) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content())


def check(page: Any, name: str, *, status: int = 200) -> None:
    """Every page: title, accessibility, a screenshot, nothing from outside, no JS error."""
    assert page.title().endswith("– Messagerie sécurisée"), page.title()
    assert_accessible(page)
    screenshot(page, f"taxpayer-{name}")
    assert page.external_requests == []
    if status != 200:
        # Chromium logs the page's own status (a refused form answers 400): not a script error.
        expected = f"the server responded with a status of {status}"
        page.console_errors[:] = [e for e in page.console_errors if expected not in e]
    assert page.console_errors == []


def test_taxpayer_journey(page: Any, live_server: str, app: Any, smtp_server: Any) -> None:
    with app.app_context():
        for key in get_redis().scan_iter("econtacts:rl:*"):
            get_redis().delete(key)
        office = make_office(KindCode.SIP, name="SIP Lyon 3e")
        agent = make_agent(office)
        claim = make_topic("Réclamation")
        make_topic("Contester le montant de mon impôt", parent=claim)
        make_topic("Question générale")
        # Known from the tax file, with the references of the last notice (issue 20, finding 5).
        lucie = make_taxpayer(
            tax_number="1234567890777",
            first_name="Lucie",
            last_name="Bernard",
            password_hash=None,
            email=None,
            email_confirmed_at=None,
        )
        set_activation_data(lucie, access_number="7654321", reference_income=31250)
        db.session.commit()
        agent_id = agent.id

    # 1. Create the space.
    page.goto(live_server + "/")
    page.get_by_role("link", name="Vous êtes un particulier ou un professionnel").click()
    page.get_by_role("link", name="Créer mon espace").click()
    check(page, "01-register")
    page.locator("label[for=kind-0]").click()
    assert page.get_by_label("Un particulier").is_checked()
    page.get_by_label("Numéro fiscal (13 chiffres) ou SIREN (9 chiffres)").fill("1234567890777")
    page.get_by_label("Numéro d'accès en ligne").fill("7654321")
    page.get_by_label("Revenu fiscal de référence").fill("31250")
    page.fill("#email", "lucie@example.fr")
    page.fill("#password", PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon espace").click()
    page.wait_for_url("**/espace/inscription/envoyee")
    check(page, "02-register-sent")

    # 2. Confirm the address from the captured mail.
    mail = last_mail_to(app, smtp_server, "lucie@example.fr")
    confirm = LINK.search(body_of(mail))
    assert confirm
    page.goto(live_server + confirm.group(1))
    assert page.get_by_text("votre espace est activé").is_visible()
    check(page, "03-confirmed")

    # 3. Sign in: this browser is new, a code comes by mail.
    page.get_by_role("link", name="Se connecter").click()
    check(page, "04-login")
    page.fill("input[name=identifier]", "1234567890777")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/espace/connexion/code")
    check(page, "05-code")
    code = re.search(r"\b(\d{6})\b", body_of(last_mail_to(app, smtp_server, "lucie@example.fr")))
    assert code
    page.fill("input[name=code]", code.group(1))
    page.get_by_role("button", name="Valider le code").click()
    page.wait_for_url("**/espace/")
    assert page.get_by_text("Vous n’avez encore aucune demande.").is_visible()
    check(page, "06-inbox-empty")

    # 4. Write a case with an attachment.
    page.get_by_role("link", name="Écrire une nouvelle demande").click()
    page.wait_for_url("**/espace/demandes/nouvelle")
    assert page.locator("#tax-year-group").is_hidden()  # no tax chosen: no year asked
    check(page, "07-new-request")
    # An empty message is refused next to the field, the rest is kept.
    page.get_by_label("Motif de votre demande").select_option(
        label="Contester le montant de mon impôt"
    )
    page.fill("#subject", "Mon avis de taxe foncière")
    page.get_by_role("button", name="Envoyer ma demande").click()
    assert page.get_by_text("Écrivez votre message.").is_visible()
    assert page.locator("#subject").input_value() == "Mon avis de taxe foncière"
    check(page, "08-new-request-error", status=400)
    page.locator("#body").fill(
        "Bonjour, le montant de mon avis me semble trop élevé. Vous trouverez l'avis joint."
    )
    page.set_input_files("input[name=files]", str(DATA / "avis.pdf"))
    page.get_by_role("button", name="Envoyer ma demande").click()
    page.wait_for_url("**/envoyee")
    with app.app_context():
        case = db.session.scalar(select(Case))
        assert case is not None
        reference = case.reference
        case_id = case.id
    assert page.get_by_text(f"Référence à rappeler : {reference}").is_visible()
    check(page, "09-request-sent")
    # The draft kept on this device is cleared once sent.
    assert (
        page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('ec-draft:')).length")
        == 0
    )

    page.get_by_role("link", name="Retour à mes demandes").click()
    assert page.get_by_role("link", name="Mon avis de taxe foncière").is_visible()
    check(page, "10-inbox")

    # 5. An agent answers (through the operations layer); the alert arrives.
    with app.app_context():
        from models import Agent

        case = db.session.get(Case, case_id)
        agent = db.session.get(Agent, agent_id)
        assert case is not None and agent is not None
        operations.reply_to_case(
            agent=agent,
            case=case,
            body="Bonjour, pouvez-vous préciser la surface de votre logement ?\nMerci.",
        )
        db.session.commit()
    alert = last_mail_to(app, smtp_server, "lucie@example.fr")
    assert alert["Subject"] == "Un nouveau message vous attend dans votre espace"
    assert "/espace/connexion" in body_of(alert)
    assert "surface" not in body_of(alert) and reference not in body_of(alert)

    page.reload()
    assert page.get_by_text("Nouveau message").is_visible()
    page.get_by_role("link", name="Mon avis de taxe foncière").click()
    assert page.get_by_text("pouvez-vous préciser la surface").is_visible()
    assert page.get_by_text("avis.pdf").is_visible()
    check(page, "11-thread")

    # 6. Reply; the draft is saved on the device while typing and restored after a reload.
    page.get_by_label("Votre message").fill("La surface est de 72 m².")
    page.wait_for_timeout(600)
    page.reload()
    assert page.get_by_label("Votre message").input_value() == "La surface est de 72 m²."
    assert page.get_by_text("Nous avons retrouvé le texte").is_visible()
    page.get_by_role("button", name="Envoyer mon message").click()
    page.wait_for_url("**envoye=1")
    assert page.get_by_text("Votre message a été envoyé.").is_visible()
    assert page.locator(".ec-message").count() == 3
    check(page, "12-thread-replied")
    assert (
        page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('ec-draft:')).length")
        == 0
    )

    # 7. History and account.
    page.get_by_role("link", name="Historique de mes échanges").first.click()
    assert page.get_by_role("link", name="Mon avis de taxe foncière").is_visible()
    check(page, "13-history")
    page.get_by_role("link", name="Mon compte").first.click()
    assert page.locator("dd", has_text="lucie@example.fr").first.is_visible()
    check(page, "14-account")

    # 8. Sign out.
    page.get_by_role("button", name="Se déconnecter").click()
    assert page.get_by_text("Vous êtes déconnecté.").is_visible()
    with app.app_context():
        assert db.session.scalar(select(Case).where(Case.id == case_id)) is not None
