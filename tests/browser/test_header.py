"""The agents' header for every role, with a long name and a long office name, at 1280 and 375 px:
the Marianne block ("République française") is whole, nothing is cut or wider than the screen,
the account menu opens and holds the full name, the office and the account's links; axe clean.

Screenshots of the header (and the open account menu) land in artifacts/screenshots/header/.
"""

from __future__ import annotations

import harness
import pytest
from axe import assert_accessible
from factories import PASSWORD, World, make_agent, make_office

from models import KindCode, db

pytestmark = pytest.mark.browser

SHOTS = harness.SCREENSHOT_DIR / "header"

LONG_OFFICE = "Service des impôts des particuliers et des entreprises de Villefranche-sur-Saône"
LONG_FIRST = "Marie-Géraldine"
LONG_LAST = "de La Tour-d'Auvergne-Lauraguais"
ROLES = {
    "agent": ("agent",),
    "chef-de-service": ("agent", "office_manager"),
    "pilote": ("steering",),
    "correspondant": ("agent", "correspondent"),
    "administrateur": ("admin",),
}

# What is cut, hidden sideways or out of the screen in the header (empty when all is well).
_HEADER_PROBLEMS_JS = """() => {
  const problems = [];
  const cut = (el) => el.scrollWidth > el.clientWidth + 1;
  const logo = document.querySelector('.fr-header .fr-logo');
  if (cut(logo)) problems.push(`logo cut: ${logo.scrollWidth} > ${logo.clientWidth}`);
  const brand = document.querySelector('.fr-header__brand');
  if (cut(brand)) problems.push(`brand cut: ${brand.scrollWidth} > ${brand.clientWidth}`);
  // DSFR's menu button shows its icon only (its text is there for screen readers).
  const shown = '.fr-header__body .fr-btn:not(.fr-btn--menu), .fr-header__service-title';
  for (const el of document.querySelectorAll(shown)) {
    if (el.offsetParent === null) continue;
    const r = el.getBoundingClientRect();
    const text = el.textContent.trim();
    if (r.right > window.innerWidth + 1 || r.left < -1) problems.push(`out of sight: ${text}`);
    if (cut(el)) problems.push(`text cut: ${text}`);
  }
  const overflow = document.documentElement.scrollWidth - window.innerWidth;
  if (overflow > 1) problems.push(`page ${overflow} px wider than the screen`);
  return problems;
}"""


@pytest.mark.parametrize("role", list(ROLES))
def test_header_with_long_names(page, live_server, world: World, role: str) -> None:
    office = make_office(KindCode.SIP, parent=world.directorate, name=LONG_OFFICE)
    agent = make_agent(office, *ROLES[role], username=f"long.{role}")
    agent.first_name, agent.last_name = LONG_FIRST, LONG_LAST
    office_code = office.code
    db.session.commit()
    SHOTS.mkdir(parents=True, exist_ok=True)
    harness.sign_in_agent(page, live_server, agent.username, PASSWORD)
    page.goto(f"{live_server}/agent/aide/")
    page.wait_for_load_state()

    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        header = page.locator("header.fr-header")
        header.screenshot(path=str(SHOTS / f"{role}--{width}.png"))
        assert page.evaluate(_HEADER_PROBLEMS_JS) == [], f"{role} at {width} px"
        if width == 1280:
            # The office by its code, its name in the tooltip; the name in the account menu.
            tools = page.locator(".fr-header__tools-links").first
            assert office_code in tools.inner_text()
            assert LONG_OFFICE not in tools.inner_text()
            account = tools.locator("button.ec-account-button")
            assert account.get_attribute("aria-expanded") == "false"
            account.click()
            menu = tools.locator(".ec-account-menu")
            menu.wait_for(state="visible")
            assert LONG_OFFICE in menu.inner_text()
            assert f"{LONG_FIRST} {LONG_LAST}" in menu.inner_text()
            assert menu.get_by_text("Mes sessions").is_visible()
            assert menu.get_by_role("button", name="Se déconnecter").is_visible()
            assert page.evaluate(_HEADER_PROBLEMS_JS) == [], f"{role} menu open at {width} px"
            assert_accessible(page)
            page.screenshot(
                path=str(SHOTS / f"{role}--{width}-menu.png"),
                clip={"x": 0, "y": 0, "width": width, "height": 520},
            )
            page.keyboard.press("Escape")
        else:
            # The mobile menu holds the same tools (DSFR copies them) and the navigation.
            page.locator("#menu-button").click()
            page.locator("#menu-modal").wait_for(state="visible")
            modal = page.locator("#menu-modal")
            modal.locator("button.ec-account-button").click()
            mobile_menu = modal.locator("#ec-account-menu-mobile")
            mobile_menu.wait_for(state="visible")
            assert LONG_OFFICE in mobile_menu.inner_text()
            assert mobile_menu.get_by_text("Mes sessions").is_visible()
            assert page.evaluate(_HEADER_PROBLEMS_JS) == [], f"{role} menu open at {width} px"
            assert_accessible(page)
            page.screenshot(path=str(SHOTS / f"{role}--{width}-menu.png"))
            page.locator("#menu-modal .fr-btn--close").click()
    assert page.external_requests == []
    assert page.console_errors == []
