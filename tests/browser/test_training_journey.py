"""An agent in the training space, in a real Chromium: enters the training mode (the banner on
every page), follows the summary-sheet exercise with the ordinary screens (search, summary sheet),
answers wrong then right, and sees the exercise counted in their progress; an administrator then
finds it on the trainees' progress page, filtered by office. axe on every page,
screenshots kept."""

from __future__ import annotations

import harness
from axe import assert_accessible
from factories import PASSWORD, World
from harness import screenshot

from app.training import seed
from models import db

BANNER = "Mode formation — données fictives"


def assert_clean(page) -> None:
    assert page.external_requests == []
    assert page.console_errors == []
    assert_accessible(page)


def test_an_agent_completes_an_exercise_and_sees_their_progress(
    page, live_server, app, world: World
) -> None:
    username = world.agent_a.username
    admin_username, last_name, office_id = (
        world.admin.username,
        world.agent_a.last_name,
        world.office_a.id,
    )
    db.session.commit()
    seed.reset()

    harness.sign_in_agent(page, live_server, username, PASSWORD)
    page.goto(f"{live_server}/agent/formation/")
    assert page.get_by_role("heading", level=1).inner_text() == "Espace de formation"
    assert BANNER not in page.content()
    assert "0 exercice réussi sur 3" in page.inner_text("main")
    assert_clean(page)
    screenshot(page, "training-index")

    page.get_by_role("button", name="Entrer en formation").click()
    page.wait_for_load_state()
    assert BANNER in page.inner_text("body")
    assert_clean(page)
    screenshot(page, "training-entered")

    page.get_by_role("link", name="Lire une fiche de synthèse").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Lire une fiche de synthèse"
    page.get_by_role("button", name="Commencer l'exercice").click()
    page.wait_for_load_state()
    assert "Jeanne Modèle" in page.inner_text("main")
    assert_clean(page)
    screenshot(page, "training-exercise")

    # The ordinary screens, on the training store: the search, then the summary sheet.
    page.goto(f"{live_server}/agent/recherche/")
    assert BANNER in page.inner_text("body")
    page.get_by_label("Numéro fiscal, SIREN, référence de la demande ou mots").fill(
        seed.SHEET_OWNER
    )
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_load_state()
    assert_clean(page)
    page.get_by_role("link", name="Fiche de synthèse").first.click()
    page.wait_for_load_state()
    assert BANNER in page.inner_text("body")
    assert "Jeanne" in page.inner_text("main")
    assert_clean(page)
    screenshot(page, "training-summary-sheet")

    page.goto(f"{live_server}/agent/formation/exercices/fiche-synthese")
    page.get_by_label("Combien d'appels téléphoniques").fill("5")
    page.get_by_role("button", name="Vérifier mon travail").click()
    page.wait_for_load_state()
    assert "pas le bon nombre" in page.inner_text("main")
    assert_clean(page)
    screenshot(page, "training-check-wrong")

    page.get_by_label("Combien d'appels téléphoniques").fill("2")
    page.get_by_role("button", name="Vérifier mon travail").click()
    page.wait_for_load_state()
    assert "Exercice réussi" in page.inner_text("main")
    assert_clean(page)
    screenshot(page, "training-check-passed")

    page.get_by_role("link", name="Retour aux exercices").click()
    page.wait_for_load_state()
    assert "1 exercice réussi sur 3" in page.inner_text("main")
    # text_content: DSFR's badge shows its text in capitals (CSS), the words are the same.
    assert "Réussi" in (page.locator("table.ec-training-table").text_content() or "")
    assert_clean(page)
    screenshot(page, "training-progress")

    page.get_by_role("button", name="Quitter la formation").first.click()
    page.wait_for_load_state()
    assert BANNER not in page.inner_text("body")

    # An administrator follows the trainees' progress, filtered by the agent's office.
    harness.sign_out_agent(page, live_server)
    harness.sign_in_agent(page, live_server, admin_username, PASSWORD)
    page.goto(f"{live_server}/agent/formation/")
    page.get_by_role("link", name="Suivre la progression des agents").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Progression des agents en formation"
    )
    page.get_by_label("Service", exact=True).select_option(str(office_id))
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_load_state()
    assert f"service={office_id}" in page.url
    row = page.locator("table.ec-training-overview tr", has_text=last_name)
    assert "1 sur 3" in row.inner_text()
    assert "En cours" in (row.text_content() or "")
    assert "SIE Lyon Nord" not in page.locator("table.ec-training-overview").inner_text()
    assert_clean(page)
    screenshot(page, "training-admin-progress")
    page.set_viewport_size({"width": 375, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    assert_clean(page)
    screenshot(page, "training-admin-progress-375")
