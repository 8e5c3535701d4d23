"""The agents' search page in a real browser (decision 0022): the period chosen, the scope said,
the results paged by key, at 1280 and 375 px, accessible (axe)."""

from __future__ import annotations

import pytest
from axe import assert_accessible
from factories import PASSWORD, World, make_case
from harness import screenshot, sign_in_agent

from app.cases import search
from models import db

pytestmark = pytest.mark.browser


def test_search_page_period_and_pages(
    app, world: World, page, live_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "RESULT_LIMIT", 3)
    for age in (2, 9, 30, 200, 500):
        make_case(world.taxpayer_a, world.office_a, age_days=age, subject="Remise gracieuse")
    make_case(world.taxpayer_a, world.office_a, age_days=1500, subject="Remise gracieuse ancienne")
    db.session.commit()
    sign_in_agent(page, live_server, world.agent_a.username, PASSWORD)
    page.goto(f"{live_server}/agent/recherche/?q=remise+gracieuse")
    assert page.get_by_label("Période de recherche des mots").input_value() == "3"
    assert page.get_by_text("Mots cherchés sur les 3 dernières années").is_visible()
    assert page.get_by_role("link", name="Résultats plus anciens").is_visible()
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page)
        screenshot(page, f"agent-search-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="Résultats plus anciens").click()
    assert page.get_by_role("link", name="Résultats les plus récents").is_visible()
    assert page.get_by_text("Remise gracieuse ancienne").count() == 0
    page.get_by_label("Période de recherche des mots").select_option("tout")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="Résultats plus anciens").click()
    assert page.get_by_text("Remise gracieuse ancienne").is_visible()
    assert page.get_by_text("Mots cherchés sur tout l'historique de votre service.").is_visible()
    assert_accessible(page)
    page.goto(f"{live_server}/agent/recherche/?q=introuvable")
    page.set_viewport_size({"width": 375, "height": 900})
    assert page.get_by_role("link", name="Chercher sur tout l'historique").is_visible()
    assert_accessible(page)
    screenshot(page, "agent-search-empty-375")
