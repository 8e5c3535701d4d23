"""Every GET route of the URL map, as every role that may open it, with the demo data, in a real
Chromium at 1280 and 375 px (issue 15).

For each role (anonymous, taxpayer individual and business, agent, office manager, steering of
a directorate and of a delegation, administrator) the test signs in once through the real login
pages, then opens every GET route of ``app.url_map`` (path parameters filled from the demo data,
see ``fill``). A route the role may not open (redirect to a login page, 403, 404) is counted as
refused, never as a failure, but must not be a server error. On every page it opens, it fails on:

- any axe-core violation, whatever its impact, with the search panel and accordions open;
- any horizontal scroll of the page at 375 or 1280 px (a column lost sideways);
- any word of ``ENGLISH`` in the visible text, the title, or a title/aria-label/placeholder/alt;
- any request leaving 127.0.0.1 and any console error.

Screenshots of each page at both widths land in artifacts/screenshots/every-route/ (gitignored).
The routes left out are listed in ``SKIPPED`` with the reason.

Kept fast (about 10 min per CI leg before; the figure now is in docs/design.md): one browser,
one context and one page per role, reused. Whether a role may open a route is asked without the
browser (a refused route is only a redirect or an error status); a page it may open is loaded
once (``domcontentloaded``: DSFR's module scripts have run by then). The browser's HTTP cache
keeps DSFR's files across pages, so the network guard is a dead proxy plus a request listener
rather than a Playwright route (a route handler turns the cache off and calls Python for every
file). axe is injected once per page and run at both widths, the 375 px screenshot taken from
the same page resized; no sleeps.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import harness
import pytest
from axe import format_violations
from axe_playwright_python.sync_playwright import Axe
from harness import is_local
from helpers import run_jobs

from app.dev.demo import DEMO_PASSWORD, DEMO_SIREN, DEMO_TAX_NUMBER, load_demo_data
from app.help import pages as help_pages
from app.training.exercises import EXERCISES
from models import Agent, Case, Channel, DifficultyReport, Office, Taxpayer, db

pytestmark = pytest.mark.browser

WIDTHS = (1280, 375)
AXE_SCRIPT = Axe().axe_script  # axe-core, as bundled by axe-playwright-python

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
    "taxpayer.export_csv": "a file download, not a page",
    "taxpayer.export_pdf": "a file download, not a page",
    "taxpayer.receipt": "a file download (PDF), not a page",
    "RetentionReportView.export": "a CSV download, not a page",
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

# Pages a role must open (not merely be refused without failing): endpoint -> roles.
MUST_OPEN = {
    "TrainingView.progress": {"administrateur"},  # the trainees' progress (docs/training.md)
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
    Role("correspondant", "correspondant.ddfip69"),
    Role("administrateur", "admin"),
]


# Where the time goes (seconds per step, all roles), printed with the summary.
TIMINGS: dict[str, float] = {}


@contextlib.contextmanager
def _timed(step: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        TIMINGS[step] = TIMINGS.get(step, 0.0) + time.perf_counter() - start


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
        # The demo's difficulty reports (SIP Lyon 3e to the DDFiP du Rhône), a training exercise.
        report = db.session.query(DifficultyReport).order_by(DifficultyReport.id).first()
        ids["report_id"] = report.id if report else 1
        ids["code"] = EXERCISES[0].code
        return ids


def _signed_in_context(browser: Any, base_url: str, role: Role, read_code: Any) -> Any:
    # The network guard: anything not for 127.0.0.1 goes to a proxy that does not exist (so it
    # never leaves the machine) and is listed by the listener; a Playwright route would do the
    # same but turn the browser's cache off and call back into Python for every file.
    context = browser.new_context(
        locale="fr-FR",
        viewport={"width": WIDTHS[0], "height": 900},
        extra_http_headers={"Accept-Language": "fr-FR,fr;q=0.9"},
        proxy={"server": "http://127.0.0.1:9", "bypass": "127.0.0.1,localhost"},
    )
    context.external_requests = []
    context.on("request", lambda r: is_local(r.url) or context.external_requests.append(r.url))
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


_FIRST_PKS: dict[tuple[int, str], str | None] = {}


def _first_pk(page: Any, base_url: str, rule: Any) -> str | None:
    """A row this role may open: the first 'show' link of the view's list (FAB screens); asked
    once per role and view (show and edit share it)."""
    prefix = rule.rule.split("/show/")[0].split("/edit/")[0]
    key = (id(page.context), prefix)
    if key not in _FIRST_PKS:
        response = page.context.request.get(f"{base_url}{prefix}/list/", max_redirects=0)
        match = (
            re.search(re.escape(prefix) + r"/show/([^/?#\"]+)", response.text())
            if response.status == 200
            else None
        )
        _FIRST_PKS[key] = match.group(1) if match else None
    return _FIRST_PKS[key]


def fill(page: Any, base_url: str, rule: Any, ids: dict[str, Any], app: Any) -> str | None:
    """The URL of ``rule`` with its parameters filled, or None when the demo has none."""
    values: dict[str, Any] = {}
    for argument in rule.arguments:
        if argument == "pk":
            pk = _first_pk(page, base_url, rule)
            if pk is None:
                return None
            values["pk"] = pk
        elif argument == "slug":  # a help page of the audience of the route
            audience = (
                help_pages.AGENT if rule.endpoint.startswith("HelpView") else help_pages.TAXPAYER
            )
            values["slug"] = help_pages.pages(audience)[0].slug
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


# Open what a person would open (FAB's search panel, closed accordions of a form) in one call:
# DSFR's own script opens them, as a click would; no wait, axe reads the DOM, not the pixels.
_OPEN_PANELS_JS = """() => {
  for (const b of document.querySelectorAll('#contenu .fr-accordion__btn[aria-expanded=false]')) {
    if (b.offsetParent !== null) b.click();
  }
}"""
# Every axe rule at 1280 px. At 375 px the same document, resized, is checked again for what the
# width changes (what is hidden, collapsed, turned into a dialog or made to scroll by DSFR's
# breakpoints), without colour contrast: the same colours on the same backgrounds, and the
# costliest rule by far.
_AXE_OPTIONS = {
    WIDTHS[0]: json.dumps({"resultTypes": ["violations"]}),
    WIDTHS[1]: json.dumps(
        {"resultTypes": ["violations"], "rules": {"color-contrast": {"enabled": False}}}
    ),
}


def _run_axe(page: Any, width: int) -> list[dict[str, Any]]:
    if width == WIDTHS[0]:
        page.evaluate(AXE_SCRIPT)  # once per page: the 375 px run reuses it
    return page.evaluate(f"axe.run(document, {_AXE_OPTIONS[width]})")["violations"]


def _check_page(page: Any, context: Any, label: str, visit: Visit, width: int) -> None:
    with _timed("axe"):
        violations = _run_axe(page, width)
    if violations:
        visit.problems.append(f"{label} @{width}px axe:\n{format_violations(violations)}")
    if width == WIDTHS[0]:
        with _timed("text"):
            text = page.evaluate(_TEXT_JS)
        english = sorted(set(_ENGLISH.findall(text)))
        if english:
            visit.problems.append(f"{label}: English on screen: {english}")
        if page.locator("h1").count() != 1:
            visit.problems.append(f"{label}: {page.locator('h1').count()} h1 (one expected)")
        if not page.title().strip():
            visit.problems.append(f"{label}: no title")
    # Nothing may be lost sideways, at 375 px nor at 1280 px (a header with too many links):
    # the page itself never scrolls horizontally.
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
    started = time.monotonic()
    for role in ROLES:
        if only and role.key not in only.split(","):
            continue
        visit = visits[role.key] = Visit()
        with _timed("sign-in"):
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
                # May this role open it? Asked without the browser first (a refused route is a
                # redirect or an error status: no page to render), then loaded once in the page.
                with _timed("ask"):
                    answer = context.request.get(url, max_redirects=0)
                if answer.status >= 500:
                    visit.problems.append(f"{label}: HTTP {answer.status} {answer.text()[-300:]!r}")
                    continue
                if answer.status != 200:
                    visit.refused.append(label)
                    continue
                if "text/html" not in answer.headers.get("content-type", ""):
                    visit.problems.append(f"{label}: not a page: add it to SKIPPED")
                    continue
                page.set_viewport_size({"width": WIDTHS[0], "height": 900})
                with _timed("load"):
                    response = page.goto(url, wait_until="domcontentloaded")
                if response is None or response.status != 200:
                    visit.problems.append(f"{label}: {response and response.status} in the page")
                    continue
                visit.opened.append(label)
                name = re.sub(r"[^\w.-]+", "_", f"{role.key}--{rule.endpoint}")
                page.evaluate(_OPEN_PANELS_JS)
                for width in WIDTHS:
                    if width != WIDTHS[0]:
                        page.set_viewport_size({"width": width, "height": 900})
                    _check_page(page, context, label, visit, width)
                    with _timed("screenshot"):
                        harness.screenshot(page, f"every-route/{name}--{width}")
                    visit.screenshots += 1
        finally:
            context.close()

    opened = sum(len(v.opened) for v in visits.values())
    shots = sum(v.screenshots for v in visits.values())
    summary = ", ".join(f"{k}: {len(v.opened)}" for k, v in visits.items())
    refused = sum(len(v.refused) for v in visits.values())
    print(
        f"\nevery route: {len(routes)} routes, {opened} pages x roles opened ({refused} refused), "
        f"{shots} screenshots at {len(WIDTHS)} widths in {time.monotonic() - started:.0f} s "
        f"({summary}); seconds per step: "
        + ", ".join(f"{step} {seconds:.0f}" for step, seconds in TIMINGS.items())
    )
    problems = [p for v in visits.values() for p in v.problems]
    for endpoint, roles in MUST_OPEN.items():
        for key in roles & set(visits):
            if not any(f" {endpoint} " in label for label in visits[key].opened):
                problems.append(f"{key} {endpoint}: not opened")
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
