"""The directory screens in a real Chromium: an administrator lists offices, adds one, pauses
intake and simulates an import; an office manager reads the access log. Nothing loads from
outside, axe finds no serious violation, screenshots are kept."""

from __future__ import annotations

from pathlib import Path

import harness
import pytest
from axe import assert_accessible
from factories import PASSWORD, World
from harness import screenshot

from app.cases import operations
from models import db

pytestmark = pytest.mark.browser

CSV = (
    "code,nom,type,parent,courriel,telephone,adresse,territoires\n"
    "DDFIP01,DDFiP de l'Ain,directorate,,,,,\n"
    "SIP011,SIP Bourg,sip,INCONNU,,,,01\n"
    "SIP012,SIP Oyonnax,bureau,DDFIP01,,,,01\n"
)


def assert_clean(page) -> None:
    assert page.external_requests == []
    assert page.console_errors == []
    assert_accessible(page)


def test_admin_directory_pages(page, live_server, world: World, tmp_path: Path) -> None:
    username = world.admin.username
    parent_id = world.directorate.id
    db.session.commit()
    harness.sign_in_agent(page, live_server, username, PASSWORD)

    page.goto(f"{live_server}/referentiel/services/list/")
    assert "SIP Lyon 3e" in page.content()
    assert "Service des impôts des particuliers" in page.content()
    assert_clean(page)
    screenshot(page, "admin-offices")

    page.goto(f"{live_server}/referentiel/services/add")
    page.fill("input[name=code]", "SIP694")
    page.fill("input[name=name]", "SIP Lyon 4e")
    page.select_option("select[name=kind]", label="Service des impôts des particuliers")
    page.select_option("select[name=parent]", str(parent_id))
    page.fill("input[name=territories_text]", "69:69384")
    assert_clean(page)
    screenshot(page, "admin-office-add")
    # The page's form, not the navbar's logout form (a POST since issue 20).
    page.locator("form:not(.navbar-logout) [type=submit]").first.click()
    page.wait_for_load_state()
    assert "Enregistré." in page.content()

    page.goto(f"{live_server}/referentiel/parametres/")
    page.check("input[name=paused]")
    page.fill("input[name=reopens_on]", "2099-01-12")
    page.fill("textarea[name=notice]", "Bascule du service : reprise le 12 janvier.")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state()
    assert "le dépôt de nouvelles demandes est suspendu" in page.content()
    assert_clean(page)
    screenshot(page, "admin-settings")

    csv_file = tmp_path / "services.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    page.goto(f"{live_server}/referentiel/import/")
    page.set_input_files("input[name=file]", str(csv_file))
    page.get_by_role("button", name="Envoyer le fichier").click()
    page.wait_for_load_state()
    content = page.content()
    assert "Résultat de la simulation" in content
    assert "Service parent « INCONNU » inconnu" in content
    assert_clean(page)
    screenshot(page, "admin-import-dry-run")

    page.goto(f"{live_server}/users/list/")
    assert "Second facteur" in page.content()
    assert_clean(page)
    screenshot(page, "admin-agents")


def test_manager_reads_the_access_log(page, live_server, world: World) -> None:
    operations.log_access(
        agent=world.agent_a,
        object_kind="summary",
        object_id=None,
        taxpayer_id=world.taxpayer_a.id,
        reason="Accueil au guichet",
    )
    username = world.manager_a.username
    db.session.commit()
    harness.sign_in_agent(page, live_server, username, PASSWORD)
    page.goto(f"{live_server}/journal-des-consultations/")
    assert "Accueil au guichet" in page.content()
    assert_clean(page)
    screenshot(page, "manager-access-log")
    page.goto(f"{live_server}/modeles-du-service/list/")
    assert_clean(page)
    screenshot(page, "manager-templates")
