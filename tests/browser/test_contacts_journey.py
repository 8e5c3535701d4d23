"""A counter visit recorded in one office and forwarded to another, in a real Chromium.

Office A's counter agent finds the taxpayer, records the visit (choosing explicitly that the
taxpayer sees it, after a preview of what they will see) and forwards it to office B, preselected
as the competent office; A keeps reading what they wrote; an agent of B acknowledges the transfer
and opens the taxpayer's summary sheet: the visit, the earlier online case, the transfer and
its acknowledgement as lines of the timeline; the taxpayer sees the visit worded as a visit, not a
case they sent. axe on every page, screenshots kept.
"""

from __future__ import annotations

import re

import harness
from axe import assert_accessible
from factories import PASSWORD, World, make_case, make_topic, office_kind
from harness import screenshot
from helpers import run_jobs

from models import Channel, KindCode, RoutingRule, db

REASON = "Question de TVA d'une micro-entreprise : relève du SIE."


def new_page(browser):
    """A page in its own browser context (one signed-in person per browser), guarded like the
    ``page`` fixture: nothing may load from outside 127.0.0.1."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    external: list[str] = []
    harness.install_network_guard(context, external)
    page = context.new_page()
    page.external_requests = external
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(f"pageerror: {e}"))
    return page


def assert_clean(page) -> None:
    assert page.external_requests == []
    assert page.console_errors == []
    assert_accessible(page)


def test_a_counter_visit_forwarded_then_seen_by_the_competent_office_and_the_taxpayer(
    browser, page, live_server, app, world: World, smtp_server
) -> None:
    topic = make_topic("Question générale")
    # VAT questions of businesses go to the SIE: the competent office for this topic is B.
    sie = office_kind(KindCode.SIE)
    db.session.add(RoutingRule(topic_id=topic.id, office_kind=sie, active=True))
    earlier = make_case(
        world.taxpayer_a,
        world.office_b,
        topic=topic,
        channel=Channel.ONLINE,
        age_days=30,
        subject="Ma déclaration de TVA en ligne",
    )
    earlier_reference = earlier.reference
    taxpayer_name = world.taxpayer_a.display_name
    tax_number = world.taxpayer_a.tax_number
    assert tax_number is not None
    username_a, username_b = world.agent_a.username, world.agent_b.username
    taxpayer_id = world.taxpayer_a.id
    db.session.commit()

    # --- office A: the counter agent records the visit and forwards it -------------------------
    harness.sign_in_agent(page, live_server, username_a, PASSWORD)
    page.goto(f"{live_server}/agent/contacts/nouveau")
    assert page.get_by_role("heading", level=1).inner_text() == "Enregistrer un contact"
    assert_clean(page)
    screenshot(page, "contacts-search")

    page.get_by_label("Numéro fiscal ou SIREN").fill(tax_number)
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_load_state()
    assert taxpayer_name in page.locator("table.ec-results").inner_text()
    assert_clean(page)
    screenshot(page, "contacts-search-results")

    page.get_by_role("link", name=re.compile("^Enregistrer un contact —")).first.click()
    page.wait_for_load_state()
    # The forwarding fields appear only when forwarding is chosen; "visible" has no default.
    assert page.locator("#forward").is_hidden()
    assert not page.get_by_label("Oui, visible par l'usager").is_checked()
    assert not page.get_by_label("Non, note interne").is_checked()
    assert_clean(page)
    screenshot(page, "contacts-form")

    page.get_by_label("Guichet").check()
    page.get_by_label("Motif", exact=True).select_option(label="Question générale")
    page.get_by_label("Objet").fill("TVA d'une micro-entreprise")
    page.get_by_label("Résumé de l'échange").fill(
        "L'usager est venu au guichet : il vient de créer une micro-entreprise et demande "
        "s'il doit facturer la TVA."
    )
    page.get_by_label("Transmettre au service compétent").check()
    assert page.locator("#forward").is_visible()
    # The competent office (routing: topic → SIE, the taxpayer's commune) is preselected.
    office_b = page.locator("#to_office option", has_text="SIE Lyon Nord").get_attribute("value")
    assert page.locator("#to_office").input_value() == office_b
    page.get_by_label("Motif de la transmission").fill(REASON)
    # Recording without saying whether the taxpayer sees it is refused; nothing typed is lost.
    page.get_by_role("button", name="Enregistrer le contact").click()
    page.wait_for_load_state()
    assert "Indiquez si l'usager verra ce contact" in page.locator("#form-error").inner_text()
    assert page.get_by_label("Objet").input_value() == "TVA d'une micro-entreprise"
    assert page.locator("#to_office").input_value() == office_b
    assert_clean(page)
    # The preview: what the taxpayer will read, worded as a visit to the office.
    page.get_by_label("Oui, visible par l'usager").check()
    page.get_by_role("button", name="Voir ce que verra l'usager").click()
    page.wait_for_load_state()
    preview = page.locator("#apercu").inner_text()
    assert "Votre visite à l’accueil du service SIP Lyon 3e, le" in preview
    assert "Compte rendu de votre visite" in preview
    assert "a transmis votre demande au service SIE Lyon Nord" in preview
    assert "Envoyée" not in preview and "ENVOYÉE" not in preview
    assert "Votre demande est arrivée" not in preview
    assert page.get_by_label("Oui, visible par l'usager").is_checked()
    assert_clean(page)
    screenshot(page, "contacts-form-preview")
    screenshot(page, "contacts-form-forwarding")
    page.get_by_role("button", name="Enregistrer le contact").click()
    page.wait_for_load_state()

    assert f"/agent/usagers/{taxpayer_id}/synthese" in page.url
    body = page.locator("body").inner_text()
    assert "transmis à SIE Lyon Nord" in body
    visit_reference = re.search(r"Contact (\S+) enregistré", body)
    assert visit_reference
    visit = visit_reference.group(1)
    timeline = page.locator("#timeline").inner_text()
    assert visit in timeline and earlier_reference in timeline
    assert "SIP Lyon 3e → SIE Lyon Nord" in timeline
    assert REASON not in timeline  # office A no longer holds the case
    assert_clean(page)
    screenshot(page, "contacts-summary-office-a")
    # The recorder still reads what they wrote (the visit's reference links to it), nothing more.
    page.locator("#timeline").get_by_role("link", name=visit).click()
    page.wait_for_load_state()
    written = page.locator("body").inner_text()
    assert "s'il doit facturer la TVA" in written and REASON in written
    assert_clean(page)
    screenshot(page, "contacts-recorder-view")

    # --- office B: opens the sheet, states why, sees the visit, the case and the transfer ---
    page_b = new_page(browser)
    try:
        harness.sign_in_agent(page_b, live_server, username_b, PASSWORD)
        # Opened without a reason (a bookmark, a typed address): the reason is asked first.
        page_b.goto(f"{live_server}/agent/usagers/{taxpayer_id}/synthese")
        assert page_b.get_by_label("Motif de la consultation").is_visible()
        assert taxpayer_name not in page_b.locator("body").inner_text()
        assert_clean(page_b)
        screenshot(page_b, "contacts-summary-reason")
        # The usual way: the inbox, the forwarded visit, then the sheet from the case's page.
        page_b.goto(f"{live_server}/agent/demandes/")
        page_b.get_by_role("link", name=visit).first.click()
        page_b.wait_for_load_state()
        page_b.get_by_role("button", name="Prendre en compte la transmission").click()
        page_b.wait_for_load_state()
        page_b.locator("a[href*='/synthese']").first.click()
        page_b.wait_for_load_state()
        assert f"/agent/usagers/{taxpayer_id}/synthese" in page_b.url
        assert taxpayer_name in page_b.get_by_role("heading", level=1).inner_text()
        assert visit in page_b.locator(".ec-traced").inner_text()  # the reason came with the link
        # Newest first: the acknowledgement, the transfer, the visit, the earlier case.
        rows = page_b.locator("#timeline tbody tr")
        assert rows.count() == 4
        texts = [rows.nth(n).inner_text() for n in range(4)]
        assert "Transmission prise en compte" in texts[0] and visit in texts[0]
        assert "SIP Lyon 3e → SIE Lyon Nord" in texts[1] and REASON in texts[1]
        assert visit in texts[2] and "Guichet" in texts[2]
        assert "TVA d'une micro-entreprise" in texts[2]
        assert earlier_reference in texts[3] and "Internet" in texts[3]
        assert page_b.get_by_role("link", name=visit).count() == 1
        assert_clean(page_b)
        screenshot(page_b, "contacts-summary-office-b")

        # Filter on the counter channel: the online case goes away.
        page_b.get_by_label("Canal", exact=True).select_option(label="Guichet")
        page_b.get_by_role("button", name="Filtrer").click()
        page_b.wait_for_load_state()
        assert page_b.locator("#timeline tbody tr.ec-entry").count() == 1
        assert earlier_reference not in page_b.locator("#timeline").inner_text()
        assert_clean(page_b)
    finally:
        page_b.context.close()

    # --- the taxpayer sees the visit in their history ------------------------------------------
    page_t = new_page(browser)
    try:

        def read_code() -> str:
            run_jobs(app)  # the code goes out through the outbox job, as in production
            message = smtp_server.messages[-1]
            text = message.get_body(preferencelist=("plain",)).get_content()
            match = re.search(r"\b(\d{6})\b", text)
            assert match, text
            return match.group(1)

        harness.sign_in_taxpayer(page_t, live_server, tax_number, PASSWORD, read_code)
        response = page_t.goto(f"{live_server}/espace/historique")
        assert response is not None
        assert response.ok
        history = page_t.locator("body").inner_text()
        assert "TVA d'une micro-entreprise" in history and visit in history
        # The visit's row is not worded as a case sent (the earlier online one is "Envoyée").
        visit_row = page_t.locator("tr", has_text=visit).inner_text().upper()
        assert "ENVOYÉE" not in visit_row and "SUITE EN COURS" in visit_row
        assert_clean(page_t)
        screenshot(page_t, "contacts-taxpayer-history")
        # The visit's own page: the words of the preview, not those of a case sent online.
        page_t.get_by_role("link", name="TVA d'une micro-entreprise").click()
        page_t.wait_for_load_state()
        seen = page_t.locator("main").inner_text()
        assert "Votre visite à l’accueil du service SIP Lyon 3e, le" in seen
        assert "a transmis votre demande au service SIE Lyon Nord" in seen
        assert "Votre demande est arrivée" not in seen and "ENVOYÉE" not in seen.upper()
        assert_clean(page_t)
        screenshot(page_t, "contacts-taxpayer-visit")
    finally:
        page_t.context.close()


def test_an_unidentified_visitor_then_attached_to_the_taxpayer(
    page, live_server, world: World
) -> None:
    make_topic("Question générale")
    username, tax_number = world.agent_a.username, world.taxpayer_a.tax_number
    name = world.taxpayer_a.display_name
    assert tax_number is not None
    db.session.commit()
    harness.sign_in_agent(page, live_server, username, PASSWORD)
    page.goto(f"{live_server}/agent/contacts/nouveau")
    page.get_by_role("link", name="Enregistrer un contact pour un usager non identifié").click()
    page.wait_for_load_state()
    page.get_by_label("Courrier").check()
    page.get_by_label("Motif", exact=True).select_option(label="Question générale")
    page.get_by_label("Objet").fill("Courrier sans numéro fiscal")
    page.get_by_label("Résumé de l'échange").fill("Lettre reçue sans référence ni numéro fiscal.")
    page.get_by_label("À traiter dans mon service").check()
    page.get_by_label("Non, note interne").check()
    # Forgotten: the identity. The message says so and nothing typed is lost.
    page.get_by_role("button", name="Enregistrer le contact").click()
    page.wait_for_load_state()
    assert "saisissez l'identité" in page.locator("#form-error").inner_text()
    assert page.get_by_label("Objet").input_value() == "Courrier sans numéro fiscal"
    assert page.get_by_label("Courrier").is_checked()
    assert_clean(page)
    screenshot(page, "contacts-form-error")
    page.get_by_label("Identité déclarée par l'usager").fill("Mme Claire Martin, Lyon 3e")
    page.get_by_role("button", name="Enregistrer le contact").click()
    page.wait_for_load_state()
    match = re.search(r"/agent/demandes/(\d+)", page.url)
    assert match, page.url

    page.goto(f"{live_server}/agent/contacts/{match.group(1)}/rattacher")
    assert "Mme Claire Martin, Lyon 3e" in page.locator("body").inner_text()
    page.get_by_label("Numéro fiscal ou SIREN").fill(tax_number)
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_load_state()
    assert_clean(page)
    screenshot(page, "contacts-attach")
    page.get_by_role("button", name=re.compile("^Rattacher à cet usager")).click()
    page.wait_for_load_state()
    assert name in page.get_by_role("heading", level=1).inner_text()
    assert "Courrier" in page.locator("#timeline").inner_text()
    assert_clean(page)
