"""Every GET route of the URL map, as every role that may open it, with the demo data, in a real
Chromium at 1280 and 375 px (issue 15).

For each role (anonymous, taxpayer individual and business, agent, office manager, steering of
a directorate and of a delegation, administrator) the test signs in once through the real login
pages, then opens every GET route of ``app.url_map`` (path parameters filled from the demo data,
see ``fill``). A route the role may not open (redirect to a login page, 403, 404) is counted as
refused, never as a failure, but must not be a server error. On every page it opens, it fails on:

- any axe-core violation, whatever its impact, with the search panel and accordions open;
- any horizontal scroll of the page at 375 px (a column lost sideways);
- any word of ``ENGLISH`` in the visible text, the title, or a title/aria-label/placeholder/alt;
- any request leaving 127.0.0.1 and any console error.

Screenshots of each page at both widths land in artifacts/screenshots/every-route/ (gitignored).
One browser, one context per role, no parallelism: a few minutes on CI. The routes left out are
listed in ``SKIPPED`` with the reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import harness
import pytest
from axe import format_violations, run_axe
from harness import install_network_guard
from helpers import run_jobs

from app.dev.demo import DEMO_PASSWORD, DEMO_SIREN, DEMO_TAX_NUMBER, load_demo_data
from models import Agent, Case, Channel, Office, Taxpayer, db

pytestmark = pytest.mark.browser

WIDTHS = (1280, 375)

# Pages of the taxpayer space and the public pages read the taxpayer's session only: an agent's
# session changes nothing on them, so they are visited as anonymous and as taxpayers, not again
# as each agent role.
TAXPAYER_SIDE = ("public.", "taxpayer.", "demo.")

# Routes not visited, with the reason (endpoint -> why).
SKIPPED = {
    "static": "files, not pages",
    "appbuilder.static": "FAB's own files: no page uses them any more",
    "AuthDBView.logout": "ends the session the visit needs (covered by the login tests)",
    "LocaleView.index": "FAB's language switch: the service is French only",
    "MenuApi.get_menu_data": "JSON for FAB's React menu, not a page",
    "public.health": "JSON for load balancers, not a page",
    "UtilView.back": "a redirect to the previous page, not a page",
    "AccessLogView.export": "a CSV download, not a page (tests/test_admin_access_log.py)",
    "SteeringView.export": "a CSV download, not a page (tests/test_steering.py)",
    "taxpayer.export": "a file download, not a page (tests/test_taxpayer_space.py)",
    "taxpayer.attachment": "a file download, not a page",
    "CasesView.attachment": "a file download, not a page",
    # FAB answers GET on these with a change of data: opening them would change the demo.
    "AgentUserView.delete": "GET deletes (FAB); the delete button posts from the list",
    "OfficeView.delete": "GET deletes (FAB)",
    "TopicView.delete": "GET deletes (FAB)",
    "TaxMatterView.delete": "GET deletes (FAB)",
    "RoutingRuleView.delete": "GET deletes (FAB)",
    "ReplyTemplateView.delete": "GET deletes (FAB)",
    "OfficeTemplateView.delete": "GET deletes (FAB)",
    "RoleModelView.delete": "GET deletes (FAB)",
    "UserGroupModelView.delete": "GET deletes (FAB)",
    "PermissionModelView.delete": "GET deletes (FAB)",
    "PermissionViewModelView.delete": "GET deletes (FAB)",
    "ViewMenuModelView.delete": "GET deletes (FAB)",
    "AgentUserView.action": "GET runs an action on a row (FAB)",
    "RoleModelView.action": "GET runs an action on a row (FAB)",
    "UserGroupModelView.action": "GET runs an action on a row (FAB)",
    "PermissionModelView.action": "GET runs an action on a row (FAB)",
    "PermissionViewModelView.action": "GET runs an action on a row (FAB)",
    "ViewMenuModelView.action": "GET runs an action on a row (FAB)",
    "RoleModelView.download": "a file download (FAB)",
    "UserGroupModelView.download": "a file download (FAB)",
    "PermissionModelView.download": "a file download (FAB)",
    "PermissionViewModelView.download": "a file download (FAB)",
    "ViewMenuModelView.download": "a file download (FAB)",
}

# English that must never reach a screen: FAB's stock strings (issue 15), its broken French,
# code names of roles and permissions. Matched as whole words, case-sensitive.
ENGLISH = [
    "Search",
    "Add Filter",
    "Record Count",
    "Page size",
    "Add",
    "Back",
    "Show",
    "Edit",
    "Delete",
    "Show record",
    "Edit record",
    "Delete record",
    "Add a new record",
    "No records found",
    "List Users",
    "List Roles",
    "List Groups",
    "Save",
    "Remove all items",
    "__None",
    "Select Value",
    "Not In",
    "Starts with",
    "Ends with",
    "Contains",
    "Equal to",
    "Not Equal to",
    "Greater than",
    "Smaller than",
    "Relation",
    "Fini par",
    "Ne finis pas par",
    "Different de",
    "Egal à",
    "Listez les rôles",
    "Lister les Vues Menus",
    "can access",
    "menu access",
    "can list",
    "AgentCases",
    "AgentSearch",
    "office_manager",
    "User confirmation needed",
    "Cancel",
    "Order by",
    "Security",
    "Detail",
    "Yes",
    "True",
    "False",
    "None",
    "Login",
    "Logout",
    "Username",
    "Password",
    "User",
    "Users",
    "Role",
    "Name",
    "Label",
    "First Name",
    "Last Name",
    "User info",
    "Reset Password",
    "Records",
    "Please",
    "Choose",
    "Submit",
]
_ENGLISH = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in ENGLISH) + r")(?![\w-])")

# The text a person reads or hears: visible text, the title, and the attributes spoken aloud.
# Codes in <code> (a CSV's column values, a key) are data, not words: left out.
_TEXT_JS = """() => {
  let body = document.body.innerText;
  for (const c of document.querySelectorAll('code')) body = body.split(c.innerText).join(' ');
  const parts = [document.title, body];
  for (const el of document.querySelectorAll('[title],[aria-label],[placeholder],[alt]')) {
    for (const a of ['title', 'aria-label', 'placeholder', 'alt']) {
      if (el.hasAttribute(a)) parts.push(el.getAttribute(a));
    }
  }
  for (const o of document.querySelectorAll('option')) parts.push(o.textContent);
  return parts.join('\\n');
}"""


@dataclass
class Role:
    key: str
    login: str | None = None  # agent username, or taxpayer identifier
    taxpayer: bool = False


ROLES = [
    Role("anonyme"),
    Role("usager-particulier", DEMO_TAX_NUMBER, taxpayer=True),
    Role("usager-professionnel", DEMO_SIREN, taxpayer=True),
    Role("agent", "agent.sip.lyon3"),
    Role("chef-de-service", "chef.sip.lyon3"),
    Role("pilote-direction", "pilote.ddfip69"),
    Role("pilote-delegation", "pilote.di"),
    Role("administrateur", "admin"),
]


@dataclass
class Visit:
    opened: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    screenshots: int = 0


def _get_routes(app: Any) -> list[Any]:
    rules = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIPPED:
            continue
        rules.append(rule)
    return sorted(rules, key=lambda r: r.rule)


def _demo_ids(app: Any, role: Role) -> dict[str, Any]:
    """Path parameters for this role from the demo data (a row it may open when there is one)."""
    with app.app_context():
        ids: dict[str, Any] = {"token": "lien-perime", "locale": "fr"}
        if role.taxpayer:
            column = Taxpayer.tax_number if role.login == DEMO_TAX_NUMBER else Taxpayer.siren
            taxpayer = db.session.query(Taxpayer).filter(column == role.login).one()
            case = (
                db.session.query(Case)
                .filter(Case.taxpayer_id == taxpayer.id, Case.channel == Channel.ONLINE)
                .order_by(Case.id)
                .first()
            ) or db.session.query(Case).filter(Case.taxpayer_id == taxpayer.id).first()
            ids["reference"] = case.reference if case else "00-0000-0000"
            return ids
        agent = (
            db.session.query(Agent).filter(Agent.username == role.login).one_or_none()
            if role.login
            else None
        )
        office = agent.office if agent else None
        if office is None:
            office = db.session.query(Office).filter(Office.parent_id.is_(None)).first()
        ids["office_id"] = office.id if office else 1
        case = (
            db.session.query(Case).filter(Case.office_id == office.id).order_by(Case.id).first()
            if office
            else None
        ) or db.session.query(Case).order_by(Case.id).first()
        ids["case_id"] = case.id if case else 1
        ids["taxpayer_id"] = case.taxpayer_id if case else 1
        return ids


def _signed_in_context(browser: Any, base_url: str, role: Role, read_code: Any) -> Any:
    context = browser.new_context(
        locale="fr-FR",
        viewport={"width": WIDTHS[0], "height": 900},
        extra_http_headers={"Accept-Language": "fr-FR,fr;q=0.9"},
    )
    context.external_requests = []
    install_network_guard(context, context.external_requests)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(f"pageerror: {e}"))
    if role.taxpayer:
        harness.sign_in_taxpayer(page, base_url, role.login, DEMO_PASSWORD, read_code)
        assert "/espace/connexion" not in page.url, f"{role.key}: sign-in failed"
    elif role.login:
        harness.sign_in_agent(page, base_url, role.login, DEMO_PASSWORD)
        assert "/login" not in page.url, f"{role.key}: sign-in failed"
    page.console_errors.clear()
    return context, page


def _first_pk(page: Any, base_url: str, rule: Any) -> str | None:
    """A row this role may open: the first 'show' link of the view's list (FAB screens)."""
    prefix = rule.rule.split("/show/")[0].split("/edit/")[0]
    response = page.context.request.get(f"{base_url}{prefix}/list/", max_redirects=0)
    if response.status != 200:
        return None
    match = re.search(re.escape(prefix) + r"/show/([^/?#\"]+)", response.text())
    return match.group(1) if match else None


def fill(page: Any, base_url: str, rule: Any, ids: dict[str, Any], app: Any) -> str | None:
    """The URL of ``rule`` with its parameters filled, or None when the demo has none."""
    values: dict[str, Any] = {}
    for argument in rule.arguments:
        if argument == "pk":
            pk = _first_pk(page, base_url, rule)
            if pk is None:
                return None
            values["pk"] = pk
        elif argument == "mail_id":
            return None  # the demo mail capture is not used by the test server (SMTP fixture)
        elif argument in ids:
            values[argument] = ids[argument]
        else:
            return None
    with app.test_request_context():
        url = rule.build(values, append_unknown=False)[1]
    if rule.endpoint == "ResetPasswordView.this_form_get":
        url += f"?pk={ids.get('agent_pk', 1)}"
    return f"{base_url}{url}"


def _open_panels(page: Any) -> None:
    """Open what a person would open: FAB's search panel, closed accordions of a form."""
    for button in page.locator("#contenu .fr-accordion__btn[aria-expanded=false]").all():
        if button.is_visible():
            button.click()
    page.wait_for_timeout(50)


def _check_page(page: Any, context: Any, label: str, visit: Visit, width: int) -> None:
    results = run_axe(page)
    if results["violations"]:
        visit.problems.append(
            f"{label} @{width}px axe:\n{format_violations(results['violations'])}"
        )
    if width == WIDTHS[0]:
        text = page.evaluate(_TEXT_JS)
        english = sorted(set(_ENGLISH.findall(text)))
        if english:
            visit.problems.append(f"{label}: English on screen: {english}")
        if page.locator("h1").count() != 1:
            visit.problems.append(f"{label}: {page.locator('h1').count()} h1 (one expected)")
        if not page.title().strip():
            visit.problems.append(f"{label}: no title")
    else:
        # Nothing may be lost sideways at 375 px: the page itself never scrolls horizontally.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1:
            visit.problems.append(f"{label}: {overflow} px wider than the screen at {width} px")
    if page.console_errors:
        visit.problems.append(f"{label}: console errors {page.console_errors}")
        page.console_errors.clear()
    if context.external_requests:
        visit.problems.append(f"{label}: requests leaving 127.0.0.1 {context.external_requests}")
        context.external_requests.clear()


@pytest.fixture
def demo(app: Any) -> Iterator[None]:
    with app.app_context():
        load_demo_data(progress=lambda _message: None)
        db.session.commit()
    # The browser keeps DSFR's files for the visit instead of asking for each on every page.
    max_age = app.config.get("SEND_FILE_MAX_AGE_DEFAULT")
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    app.config["PROPAGATE_EXCEPTIONS"] = bool(os.environ.get("EVERY_ROUTE_PROPAGATE"))
    yield
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = max_age


def test_every_route_as_every_role(browser, live_server, app, smtp_server, demo) -> None:
    routes = _get_routes(app)
    visits: dict[str, Visit] = {}

    def read_code() -> str:
        run_jobs(app)
        mails = [m for m in smtp_server.messages if "code" in str(m["Subject"]).lower()]
        assert mails, "no code e-mail"
        body = mails[-1].get_body(("plain",)).get_content()
        match = re.search(r"\b(\d{6})\b", body)
        assert match
        return match.group(1)

    with app.app_context():
        ids_agent_pk = (
            db.session.query(Agent.id).filter(Agent.username == "agent.sip.lyon3").scalar()
        )
    # While debugging: EVERY_ROUTE_ROLES="administrateur,agent", EVERY_ROUTE_PATHS="/roles,/users"
    only = os.environ.get("EVERY_ROUTE_ROLES")
    paths = [p for p in os.environ.get("EVERY_ROUTE_PATHS", "").split(",") if p]
    if paths:
        routes = [r for r in routes if r.rule.startswith(tuple(paths))]
    for role in ROLES:
        if only and role.key not in only.split(","):
            continue
        visit = visits[role.key] = Visit()
        context, page = _signed_in_context(browser, live_server, role, read_code)
        ids = _demo_ids(app, role)
        ids["agent_pk"] = ids_agent_pk
        try:
            for rule in routes:
                label = f"{role.key} {rule.endpoint} {rule.rule}"
                if role.login and not role.taxpayer and rule.endpoint.startswith(TAXPAYER_SIDE):
                    continue
                url = fill(page, live_server, rule, ids, app)
                if url is None:
                    visit.refused.append(f"{label} (no demo row)")
                    continue
                # Ask first without a browser page (cheap): may this role open it?
                answer = context.request.get(url, max_redirects=0)
                status = answer.status
                if status >= 500:
                    visit.problems.append(f"{label}: HTTP {status} {answer.text()[-300:]!r}")
                    continue
                if status != 200:
                    visit.refused.append(label)
                    continue
                page.set_viewport_size({"width": WIDTHS[0], "height": 900})
                page.goto(url)
                visit.opened.append(label)
                name = re.sub(r"[^\w.-]+", "_", f"{role.key}--{rule.endpoint}")
                for width in WIDTHS:
                    page.set_viewport_size({"width": width, "height": 900})
                    _open_panels(page)
                    _check_page(page, context, label, visit, width)
                    harness.screenshot(page, f"every-route/{name}--{width}")
                    visit.screenshots += 1
        finally:
            context.close()

    opened = sum(len(v.opened) for v in visits.values())
    shots = sum(v.screenshots for v in visits.values())
    summary = ", ".join(f"{k}: {len(v.opened)}" for k, v in visits.items())
    print(f"\nevery route: {opened} pages x roles opened, {shots} screenshots ({summary})")
    problems = [p for v in visits.values() for p in v.problems]
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
