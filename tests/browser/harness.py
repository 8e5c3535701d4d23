"""Helpers for the browser tests: a live server for a Flask app, the Chromium launch options,
the network guard and full-page screenshots.

Chromium is Debian's (apt `chromium`, installed by `make setup` / scripts/install_chromium.sh);
`playwright install` cannot download browsers on this network.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import make_server

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "artifacts" / "screenshots"


@contextmanager
def serve(app) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 (free port) in a daemon thread; yield its base URL.

    The app runs in other threads than the test: an in-memory SQLite database must use
    StaticPool / check_same_thread=False to be shared with the test's session.
    """
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, name=f"live-server-{server.server_port}", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname in LOCAL_HOSTS


def install_network_guard(target, blocked: list[str]) -> None:
    """Abort every request whose host is not 127.0.0.1/localhost and record its URL in `blocked`.

    `target` is a BrowserContext (covers popups and every page of the context) or a Page.
    No real network is touched: the request is aborted before it leaves the browser.
    """

    def handler(route) -> None:
        url = route.request.url
        if is_local(url):
            route.fallback()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    target.route("**/*", handler)


def screenshot(page, name: str) -> Path:
    """Full-page PNG in artifacts/screenshots/<name>.png (gitignored); returns its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    path = SCREENSHOT_DIR / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- signing in through the real login pages ---------------------------------------------------
# Contracts the login pages keep (the security and taxpayer-space code must not break them):
# - agents: FAB's login form (fields ``username``, ``password``), then, when the second factor is
#   on, a page with an ``otp`` field; at enrolment that page also shows the secret in an element
#   ``#otp-secret`` whose ``data-secret`` attribute holds it.
# - taxpayers: /espace/connexion (fields ``identifier``, ``password``), then, for a browser not
#   seen before, a page with a ``code`` field (the code sent by e-mail, read by ``read_code``).


# The app the live server serves (set by the live_server fixture): enrolment links are read
# from its outbox.
LIVE_APP: list[Any] = []


def sign_in_agent(page, base_url: str, username: str, password: str, otp_secret: str | None = None):
    """Sign an agent in through the login page(s); returns the secret used for the second
    factor (read at enrolment, or the one given), or None when no second factor was asked."""
    import pyotp

    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state()
    if page.locator("#enrolment-sent").count():
        # Not enrolled: the link e-mailed to the agent's address, opened in this browser.
        from helpers import enrolment_link

        assert LIVE_APP, "the live_server fixture sets harness.LIVE_APP"
        page.goto(base_url + enrolment_link(LIVE_APP[0], username))
        page.wait_for_load_state()
    if page.locator("input[name=otp]").count() == 0:
        return None
    secret = otp_secret
    shown = page.locator("#otp-secret")
    if shown.count():
        secret = shown.first.get_attribute("data-secret")
    assert secret, "the second factor is asked but no secret is known for this agent"
    page.fill("input[name=otp]", pyotp.TOTP(secret).now())
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state()
    return secret


def sign_out_agent(page, base_url: str) -> None:
    """Sign the agent out as a person does: the navbar's logout form (a POST with its token,
    since issue 20; a GET on /logout/ signs nobody out)."""
    page.goto(f"{base_url}/agent/")
    with page.expect_navigation():
        page.locator("form.navbar-logout").first.evaluate("form => form.submit()")
    page.wait_for_load_state()


def sign_in_taxpayer(page, base_url: str, identifier: str, password: str, read_code=None) -> None:
    """Sign a taxpayer in; ``read_code()`` returns the e-mailed code if one is asked."""
    page.goto(f"{base_url}/espace/connexion")
    page.fill("input[name=identifier]", identifier)
    page.fill("input[name=password]", password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state()
    if page.locator("input[name=code]").count():
        assert read_code is not None, "a code was asked for this new browser"
        page.fill("input[name=code]", read_code())
        page.locator("form [type=submit]").first.click()
        page.wait_for_load_state()
