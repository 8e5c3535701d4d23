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
