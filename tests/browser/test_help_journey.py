"""The online help in Chromium (issue 19): a taxpayer finds the help from the header and
searches it; an agent opens the agents' help, searches it, opens the guide beside the reply
form, and sends a reply the pre-send check warned about. axe on every page visited;
screenshots in artifacts/screenshots/help-*.png."""

from __future__ import annotations

from axe import assert_accessible
from factories import PASSWORD, World, make_case
from harness import screenshot, sign_in_agent
from playwright.sync_api import expect

from models import Message, db

IBAN = "FR76 3000 6000 0112 3456 7890 189"


def _check(page, name: str) -> None:
    assert page.external_requests == []
    assert page.console_errors == [], page.console_errors
    assert_accessible(page)
    screenshot(page, f"help-{name}")


def test_a_taxpayer_finds_and_searches_the_help(page, live_server) -> None:
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Aide", exact=True).click()
    page.wait_for_url("**/aide/")
    assert page.get_by_role("heading", level=1).inner_text() == "Aide de la messagerie sécurisée"
    _check(page, "taxpayer-index")
    page.get_by_label("Rechercher dans l’aide").first.fill("delai")
    page.get_by_role("button", name="Rechercher").first.click()
    page.wait_for_url("**/aide/?q=delai")
    results = page.locator(".ec-help-results a")
    assert results.first.inner_text() == "Délais de réponse"
    _check(page, "taxpayer-search")
    results.first.click()
    page.wait_for_url("**/aide/delais")
    assert page.get_by_role("heading", level=1).inner_text() == "Délais de réponse"
    assert page.get_by_text("dans les 30 jours").count() == 1
    _check(page, "taxpayer-page")
    page.goto(f"{live_server}/aide/pieces-jointes")
    assert page.locator(".ec-help table").is_visible()
    assert page.get_by_role("cell", name="JPG, PDF, PNG").is_visible()
    _check(page, "taxpayer-attachments")


def test_an_agent_reads_the_help_and_the_guide_then_confirms_a_warned_reply(
    app, world: World, page, live_server
) -> None:
    case = make_case(world.taxpayer_a, world.office_a, subject="Remboursement de trop-perçu")
    db.session.commit()
    case_id = case.id
    sign_in_agent(page, live_server, world.agent_a.username, PASSWORD)
    page.goto(f"{live_server}/agent/demandes/")
    # the header link (DSFR copies it into the mobile menu: the first is the header's)
    page.locator("a.ec-help-link").first.click()
    page.wait_for_url("**/agent/aide/")
    _check(page, "agent-index")
    page.get_by_label("Rechercher dans l’aide").fill("transmission motif")
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_load_state()
    page.locator(".ec-help-results a", has_text="Transmettre une demande").click()
    page.wait_for_url("**/agent/aide/transmissions")
    assert page.get_by_text("jamais de l'usager").is_visible()
    _check(page, "agent-transfers")
    page.goto(f"{live_server}/agent/aide/conservation")
    assert page.get_by_role("cell", name="10 ans après son dernier échange").is_visible()
    _check(page, "agent-retention")

    # The guide beside the reply form, closed, then opened.
    page.goto(f"{live_server}/agent/demandes/{case_id}")
    guide = page.get_by_role("button", name="Guide de bonnes pratiques de rédaction")
    assert guide.get_attribute("aria-expanded") == "false"
    assert not page.get_by_text("Ce qu'il ne faut jamais écrire").is_visible()
    guide.click()
    assert guide.get_attribute("aria-expanded") == "true"
    # DSFR opens the accordion with a height transition: wait for it (a busy machine is slow).
    expect(page.get_by_text("Ce qu'il ne faut jamais écrire")).to_be_visible()
    _check(page, "agent-guide-open")

    # A reply with an IBAN: warned, not sent, the text kept; corrected? no: sent anyway.
    body = f"Votre remboursement sera versé sur l'IBAN {IBAN} sous huit jours."
    page.get_by_label("Message à l'usager").fill(body)
    page.get_by_role("button", name="Envoyer", exact=True).click()
    page.wait_for_load_state()
    warning = page.locator("#guide-warnings")
    assert warning.is_visible()
    assert "IBAN complet (…0189)" in warning.inner_text()
    assert page.get_by_label("Message à l'usager").input_value() == body
    assert (
        db.session.scalar(db.select(db.func.count(Message.id)).where(Message.case_id == case_id))
        == 0
    )
    _check(page, "agent-warned")
    page.get_by_role("button", name="Envoyer quand même").click()
    page.wait_for_load_state()
    assert page.get_by_text("Votre réponse a été envoyée à l'usager.").is_visible()
    db.session.expire_all()
    sent = db.session.scalars(db.select(Message.body).where(Message.case_id == case_id)).all()
    assert sent == [body]
    _check(page, "agent-sent-anyway")
