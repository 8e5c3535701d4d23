"""Browser-test fixtures: Debian Chromium driven by Playwright's sync API (no pytest-playwright).

Fixtures:
  browser      session-scoped Chromium (/usr/bin/chromium); fails, never skips, when missing.
  live_server  base URL of the `app` fixture (defined in tests/conftest.py) served on 127.0.0.1.
  page         a fresh fr-FR context + page whose network is limited to 127.0.0.1/localhost:
               every other request is aborted and listed in `page.external_requests`;
               console errors and uncaught page errors are listed in `page.console_errors`.
               A failing test leaves a full-page screenshot in artifacts/screenshots/.

Helpers: `harness.serve(app)`, `harness.screenshot(page, name)`, `axe.assert_accessible(page)`.
"""

from __future__ import annotations

import contextlib
import os

import harness
import pytest
from harness import CHROMIUM_ARGS, CHROMIUM_PATH, install_network_guard, screenshot, serve
from playwright.sync_api import sync_playwright


@pytest.fixture(scope="session")
def browser():
    if not (os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM_PATH} not found: the browser tests need Debian's Chromium. "
            "Run `make setup` (or `sudo scripts/install_chromium.sh`).",
            pytrace=False,
        )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def live_server(app):
    harness.LIVE_APP[:] = [app]
    with serve(app) as base_url:
        yield base_url


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"_report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request):
    # bypass_csp stays False: axe runs under the page's CSP (see axe.py), and the tests must see
    # what the CSP blocks in production.
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    external: list[str] = []
    # Guard on the context, not just the page: popups and new tabs are covered too.
    install_network_guard(context, external)
    page = context.new_page()
    page.external_requests = external
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(f"pageerror: {e}"))
    try:
        yield page
    finally:
        report = getattr(request.node, "_report_call", None)
        if report is not None and report.failed and not page.is_closed():
            # A screenshot must never hide the real failure.
            with contextlib.suppress(Exception):
                screenshot(page, f"FAILED-{request.node.name}")
        context.close()
