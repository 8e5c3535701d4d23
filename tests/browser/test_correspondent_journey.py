"""A difficulty reported and answered, in Chromium (issue 19): an agent reports from the inbox's
header; the DDFiP's correspondent answers, then raises it; the national level (administrator)
closes it; steering's table by directorate and theme. axe on every page visited; screenshots in
artifacts/screenshots/report-*.png."""

from __future__ import annotations

import re

from axe import assert_accessible
from factories import PASSWORD, World, make_agent
from harness import screenshot, sign_in_agent, sign_out_agent

from models import DifficultyReport, ReportStatus, db


def _check(page, name: str) -> None:
    assert page.external_requests == []
    assert page.console_errors == [], page.console_errors
    assert_accessible(page)
    screenshot(page, f"report-{name}")


def test_a_difficulty_reported_answered_raised_and_closed(
    app, world: World, page, live_server
) -> None:
    correspondent = make_agent(world.directorate, "correspondent")
    db.session.commit()
    correspondent_name = correspondent.username

    # --- the agent reports from the inbox -----------------------------------------------------
    sign_in_agent(page, live_server, world.agent_a.username, PASSWORD)
    page.goto(f"{live_server}/agent/demandes/?onglet=ouvertes")
    # the header link (DSFR copies it into the mobile menu: the first is the header's)
    page.locator("a.ec-report-link").first.click()
    page.wait_for_url(re.compile(r".*/agent/signalements/nouveau\?page="))
    assert page.get_by_text("Page concernée : /agent/demandes/").is_visible()
    _check(page, "new")
    page.get_by_label("Thème").select_option(label="L'outil e-contacts")
    page.get_by_label("Description de la difficulté").fill(
        "Le filtre par ancienneté ne garde pas l'onglet choisi."
    )
    page.get_by_role("button", name="Envoyer le signalement").click()
    page.wait_for_load_state()
    assert page.get_by_text("envoyé aux correspondants de votre direction").is_visible()
    report = db.session.scalars(db.select(DifficultyReport)).one()
    report_id = report.id
    assert report.page_url == "/agent/demandes/"
    _check(page, "sent")
    sign_out_agent(page, live_server)

    # --- the correspondent answers, then raises it -------------------------------------------
    sign_in_agent(page, live_server, correspondent_name, PASSWORD)
    page.goto(f"{live_server}/agent/signalements/")
    page.get_by_role("link", name=f"Signalement n° {report_id}").click()
    page.wait_for_url(f"**/agent/signalements/{report_id}")
    assert page.get_by_text("Le filtre par ancienneté ne garde pas l'onglet choisi.").is_visible()
    _check(page, "correspondent")
    page.get_by_label("Votre réponse à l'agent").fill("Connu : un correctif est prévu.")
    page.get_by_role("button", name="Enregistrer la réponse").click()
    page.wait_for_load_state()
    assert page.get_by_text("Votre réponse est enregistrée.").is_visible()
    page.get_by_label("Pourquoi le niveau national doit s'en saisir").fill(
        "Tous les services de la direction sont touchés."
    )
    page.get_by_role("button", name="Remonter").click()
    page.wait_for_load_state()
    assert page.get_by_text("Le signalement est remonté au niveau national.").is_visible()
    assert page.get_by_role("button", name="Remonter").count() == 0
    _check(page, "raised")
    sign_out_agent(page, live_server)

    # --- the national level closes it; steering's table ---------------------------------------
    sign_in_agent(page, live_server, world.admin.username, PASSWORD)
    page.goto(f"{live_server}/agent/signalements/?onglet=national")
    page.get_by_role("link", name=f"Signalement n° {report_id}").click()
    page.wait_for_url(f"**/agent/signalements/{report_id}")
    _check(page, "national")
    page.get_by_role("button", name="Clôturer le signalement").click()
    page.wait_for_load_state()
    assert page.get_by_text("Le signalement est clôturé.").is_visible()
    db.session.expire_all()
    assert db.session.get(DifficultyReport, report_id).status is ReportStatus.CLOSED  # type: ignore[union-attr]
    page.goto(f"{live_server}/pilotage/signalements")
    row = page.locator("table.ec-report-figures tbody tr", has_text="DDFiP du Rhône")
    assert row.locator("td").last.inner_text() == "0 / 1"
    _check(page, "steering")
