"""An agent's morning in Chromium (issue 16): the home "Ma journée", a notice, the inbox, a bulk
assignment, a macro (answer and close from a template, text edited), a close with "Autre".
The office manager does it (bulk assignment is theirs). axe on every page visited; screenshots in
artifacts/screenshots/agentday-*.png."""

from __future__ import annotations

from pathlib import Path

from axe import assert_accessible
from factories import PASSWORD, World, make_case, make_reply_template, outcome_id
from harness import screenshot, sign_in_agent

from app.cases import notices, operations
from models import Case, CaseStatus, TemplateAction, db

DATA = Path(__file__).parent.parent / "data"


def _check(page, name: str) -> None:
    assert page.external_requests == []
    assert page.console_errors == [], page.console_errors
    assert_accessible(page)
    screenshot(page, f"agentday-{name}")


def test_an_agents_morning(app, world: World, browser, page, live_server) -> None:
    manager = world.manager_a
    held = make_case(
        world.taxpayer_a, world.office_a, age_days=6, subject="Prélèvement à la source"
    )
    held.assignee_id = manager.id
    held.status = CaseStatus.IN_PROGRESS
    first = make_case(world.taxpayer_a, world.office_a, age_days=2, subject="Taxe foncière 2025")
    second = make_case(world.taxpayer_b, world.office_a, age_days=1, subject="Changement d'adresse")
    db.session.commit()
    operations.reply_as_taxpayer(
        taxpayer=world.taxpayer_a, case=held, body="Voici le justificatif demandé."
    )
    notices.new_case(first)
    notices.new_case(second)
    template = make_reply_template(
        "Dégrèvement accordé",
        "Bonjour {nom},\n\nVotre demande {reference} est acceptée : le dégrèvement est accordé.",
        office=world.office_a,
    )
    template.action = TemplateAction.ANSWER_AND_CLOSE
    template.closing_outcome_id = int(outcome_id("granted"))
    db.session.commit()
    held_id, first_id, second_id = held.id, first.id, second.id
    held_ref, first_ref, second_ref = held.reference, first.reference, second.reference

    # --- home: what waits --------------------------------------------------------------------
    sign_in_agent(page, live_server, manager.username, PASSWORD)
    page.goto(f"{live_server}/agent/")
    assert page.get_by_role("heading", level=1).inner_text() == "Ma journée"
    new_tile = page.locator('[data-day="new"] .ec-day-count')
    assert new_tile.inner_text() == "2"
    assert page.locator('[data-day="mine_unread"] .ec-day-count').inner_text() == "1"
    assert page.get_by_role("heading", name="Charge par agent").is_visible()
    assert page.locator(".ec-notices-badge").first.inner_text() == "3"
    _check(page, "home")

    # --- a notice: the taxpayer replied on a case the manager holds ---------------------------
    page.locator(".ec-notices-counter a").first.click()
    page.wait_for_url("**/agent/avis/")
    assert page.get_by_text("Réponse de l'usager à une demande que vous traitez").is_visible()
    _check(page, "notices")
    page.get_by_role("button", name=f"Ouvrir la demande {held_ref}").click()
    page.wait_for_url(f"**/agent/demandes/{held_id}")
    assert page.get_by_text("Voici le justificatif demandé.").is_visible()
    assert page.locator(".ec-notices-badge").first.inner_text() == "2"

    # --- the inbox from the home's figure; bulk assignment -----------------------------------
    page.goto(f"{live_server}/agent/")
    page.locator('[data-day="new"]').click()
    page.wait_for_url("**/agent/demandes/?onglet=nouvelles")
    assert page.locator("table.ec-inbox tbody tr").count() == 2
    _check(page, "inbox")
    page.get_by_label(f"Choisir la demande {first_ref}").check()
    page.get_by_label(f"Choisir la demande {second_ref}").check()
    page.get_by_label("Action").select_option("attribuer")
    page.get_by_label("Agent", exact=True).select_option(label=manager.full_name)
    page.get_by_role("button", name="Appliquer").click()
    page.wait_for_load_state()
    assert page.get_by_text("2 demandes traitées").is_visible()
    assert page.locator("table.ec-inbox tbody tr").count() == 0
    _check(page, "inbox-after-bulk")

    # --- a macro: answer and close in one click, the text edited before sending --------------
    page.goto(f"{live_server}/agent/demandes/{first_id}")
    page.locator(".ec-macro", has_text="Dégrèvement accordé").click()
    body = page.get_by_label("Message à l'usager")
    filled = body.input_value()
    assert filled.startswith(f"Bonjour {world.taxpayer_a.display_name},") and first_ref in filled
    assert page.locator('.ec-message-form input[name="close"]').is_checked()
    assert page.locator("#reply-outcome").input_value() == outcome_id("granted")
    body.fill(filled + "\nLe remboursement suivra sous trente jours.")
    _check(page, "macro-applied")
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_load_state()
    assert page.get_by_text(
        "Votre réponse a été envoyée à l'usager et la demande clôturée."
    ).is_visible()
    _check(page, "case-closed-by-macro")

    # --- a failed validation loses nothing: the browser refuses before sending ----------------
    page.goto(f"{live_server}/agent/demandes/{second_id}")
    page.get_by_label("Message à l'usager").fill("Votre changement d'adresse est enregistré.")
    page.set_input_files("#pieces_jointes", str(DATA / "avis.pdf"))
    page.locator('.ec-message-form input[name="close"]').check()
    page.get_by_role("button", name="Envoyer").click()
    assert page.locator("#reply-outcome:invalid").count() == 1  # required once "close" is ticked
    assert page.url.endswith(f"/agent/demandes/{second_id}")
    assert page.evaluate("document.getElementById('pieces_jointes').files.length") == 1
    assert page.get_by_label("Message à l'usager").input_value().startswith("Votre changement")
    _check(page, "close-refused")
    # "Autre" needs its words, then closes.
    page.locator("#close-outcome").select_option(label="Autre")
    page.get_by_role("button", name="Clôturer sans répondre").click()
    assert page.locator("#close-outcome-other:invalid").count() == 1
    page.locator("#close-outcome-other").fill("Demande adressée par erreur")
    page.get_by_role("button", name="Clôturer sans répondre").click()
    page.wait_for_load_state()
    assert page.get_by_text("La demande a été clôturée.").is_visible()
    _check(page, "case-closed-other")

    db.session.expire_all()
    assert db.session.get(Case, first_id).outcome == "Demande satisfaite"
    assert db.session.get(Case, second_id).outcome == "Autre : Demande adressée par erreur"
