"""The home page and both logins, in a real Chromium: nothing from outside, accessible."""

from __future__ import annotations

from axe import assert_accessible
from harness import screenshot


def test_home_page_loads_nothing_from_outside_and_is_accessible(page, live_server) -> None:
    response = page.goto(live_server + "/")
    assert response is not None and response.ok
    assert page.get_by_role("heading", level=1).inner_text().startswith("Échanger")
    # The DSFR stylesheet really applied (Marianne font), from our own static files.
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "Marianne" in font
    assert page.external_requests == []
    assert page.console_errors == []
    assert_accessible(page)
    screenshot(page, "home")


def test_both_logins_are_reachable_from_the_home_page(page, live_server) -> None:
    page.goto(live_server + "/")
    page.get_by_role("link", name="Vous êtes un particulier ou un professionnel").click()
    page.wait_for_url("**/espace/connexion")
    assert page.get_by_label("Numéro fiscal (13 chiffres) ou SIREN (9 chiffres)").is_visible()
    assert_accessible(page)
    screenshot(page, "taxpayer-login")
    page.goto(live_server + "/")
    page.get_by_role("link", name="Vous êtes agent de l'administration").click()
    page.wait_for_url("**/login/")
    assert page.get_by_label("Mot de passe").count() >= 1 or "Mot de passe" in page.content()
    assert page.external_requests == []
    screenshot(page, "agent-login")
