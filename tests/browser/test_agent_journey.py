"""The agents' journey in Chromium: take a case, answer from a template, the taxpayer is alerted
and reads the answer; forward another case to another office, which acknowledges it. axe on
every agent page visited; screenshots in artifacts/screenshots/agent-*.png."""

from __future__ import annotations

import html

from axe import assert_accessible
from factories import PASSWORD, World, make_case, make_reply_template
from harness import screenshot, sign_in_agent

from app.cases import operations
from models import Case, CaseStatus, Transfer, db


def _check(page, name: str) -> None:
    assert page.external_requests == []
    assert page.console_errors == [], page.console_errors
    assert_accessible(page)
    screenshot(page, f"agent-{name}")


def test_agent_journey(app, world: World, browser, page, live_server, smtp_server) -> None:
    from helpers import run_jobs, sign_in_taxpayer

    taxpayer = world.taxpayer_a
    asked = make_case(taxpayer, world.office_a, age_days=4, subject="Remboursement trop-perçu")
    operations.reply_as_taxpayer(
        taxpayer=taxpayer, case=asked, body="Bonjour, j'attends mon remboursement."
    )
    elsewhere = make_case(
        world.taxpayer_b, world.office_a, age_days=12, subject="TVA de ma société"
    )
    make_case(world.taxpayer_b, world.office_a, age_days=40, subject="Ancienne demande")
    make_reply_template(
        "Remboursement en cours",
        "Bonjour {nom},\n\nVotre demande {reference} est traitée par le {service}.\nLe {date}.",
    )
    db.session.commit()
    asked_id, elsewhere_id = asked.id, elsewhere.id

    # --- agent A: inbox, take, answer from a template ---------------------------------------
    sign_in_agent(page, live_server, world.agent_a.username, PASSWORD)
    page.goto(f"{live_server}/agent/demandes/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Demandes du service")
    assert page.locator("table.ec-inbox tbody tr").count() == 3
    _check(page, "inbox")

    page.get_by_role("link", name=asked.reference).click()
    page.wait_for_url(f"**/agent/demandes/{asked_id}")
    assert "Bonjour, j'attends mon remboursement." in page.content()
    _check(page, "case")

    page.get_by_role("button", name="Prendre en charge").click()
    page.wait_for_load_state()
    assert page.get_by_text("Vous avez pris en charge cette demande.").is_visible()

    page.get_by_label("Réponse type").select_option(label="Remboursement en cours")
    body = page.get_by_label("Message à l'usager")
    filled = body.input_value()
    assert filled.startswith(f"Bonjour {taxpayer.display_name},")
    assert asked.reference in filled and "SIP Lyon 3e" in filled and "{" not in filled
    body.fill(filled + "\nLe virement partira sous huit jours.")
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_load_state()
    assert page.get_by_text("Votre réponse a été envoyée à l'usager.").is_visible()
    assert page.get_by_text("Le virement partira sous huit jours.").is_visible()
    _check(page, "case-answered")

    # The internal note form is told apart.
    page.get_by_label("Note", exact=True).fill("Virement validé par le comptable.")
    page.get_by_role("button", name="Ajouter la note").click()
    page.wait_for_load_state()
    assert (
        page.locator(".ec-message.ec-note")
        .get_by_text("Note interne — non visible par l'usager")
        .is_visible()
    )
    _check(page, "case-note")

    # --- the taxpayer: alerted by e-mail (no content), then reads the answer ----------------
    run_jobs(app)
    # The agents' enrolment links (issue 20) went to their own addresses; the taxpayer got one
    # alert, without content.
    alerts = [m for m in smtp_server.messages if not str(m["To"]).endswith("@dgfip.example")]
    assert [m["To"] for m in alerts] == [taxpayer.email]
    assert "virement" not in alerts[0].get_content().lower()
    client = sign_in_taxpayer(app.test_client(), taxpayer)
    thread = client.get(f"/espace/demandes/{asked.reference}")
    assert thread.status_code == 200
    text = html.unescape(thread.get_data(as_text=True))
    assert "Le virement partira sous huit jours." in text
    assert "Virement validé par le comptable." not in text
    assert asked.reference in client.get("/espace/").get_data(as_text=True)

    # --- search ------------------------------------------------------------------------------
    page.goto(f"{live_server}/agent/recherche/?q=remboursement")
    assert page.get_by_role("link", name=asked.reference).is_visible()
    _check(page, "search")

    # --- agent A forwards another case to office B -------------------------------------------
    page.goto(f"{live_server}/agent/demandes/{elsewhere_id}")
    page.get_by_label("Service destinataire").select_option(label="SIE Lyon Nord")
    page.get_by_label("Motif de la transmission (obligatoire)").fill(
        "Question de TVA d'une société : le SIE est compétent."
    )
    page.get_by_role("button", name="Transmettre").click()
    page.wait_for_url("**/agent/demandes/")
    assert page.get_by_text("La demande a été transmise à SIE Lyon Nord.").is_visible()
    _check(page, "inbox-after-transfer")

    # --- agent B acknowledges it from the inbox ------------------------------------------------
    context_b = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page_b = context_b.new_page()
    page_b.external_requests = []
    page_b.console_errors = []
    page_b.on("console", lambda m: m.type == "error" and page_b.console_errors.append(m.text))
    page_b.on("response", lambda r: r.status >= 400 and page_b.console_errors.append(r.url))
    try:
        sign_in_agent(page_b, live_server, world.agent_b.username, PASSWORD)
        page_b.goto(f"{live_server}/agent/demandes/")
        page_b.get_by_role("link", name="Transmises à prendre en compte").click()
        page_b.wait_for_load_state()
        row = page_b.locator("table.ec-inbox tbody tr", has_text=elsewhere.reference)
        assert row.get_by_text("Transmise").is_visible()
        _check(page_b, "inbox-forwarded")
        row.get_by_role("link", name=elsewhere.reference).click()
        page_b.wait_for_load_state()
        assert page_b.get_by_text(
            "Question de TVA d'une société : le SIE est compétent."
        ).first.is_visible()
        _check(page_b, "case-forwarded")
        page_b.get_by_role("button", name="Prendre en compte la transmission").click()
        page_b.wait_for_load_state()
        assert page_b.get_by_text("La transmission a été prise en compte.").is_visible()
        _check(page_b, "case-acknowledged")
    finally:
        context_b.close()

    db.session.expire_all()
    moved = db.session.get(Case, elsewhere_id)
    assert moved is not None and moved.office_id == world.office_b.id
    assert moved.awaiting_acknowledgement is False
    transfer = db.session.scalars(db.select(Transfer)).one()
    assert transfer.acknowledged_by_id == world.agent_b.id
    answered = db.session.get(Case, asked_id)
    assert answered is not None and answered.status is CaseStatus.IN_PROGRESS
