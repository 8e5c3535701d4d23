"""The browser harness checks itself: axe flags a broken page and passes a correct one under a
strict CSP, and the network guard aborts and records requests to outside hosts."""

from __future__ import annotations

import pytest
from axe import AccessibilityError, assert_accessible
from flask import Flask, request
from harness import screenshot, serve

pytestmark = pytest.mark.browser

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

GOOD_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Page correcte</title>
<link rel="stylesheet" href="/style.css"></head>
<body><header><p>En-tête</p></header>
<main><h1>Nous contacter</h1>
<img src="/pixel.svg" alt="Logo de la République française">
<form method="post"><label for="email">Adresse électronique</label>
<input id="email" name="email" type="email" autocomplete="email">
<button type="submit">Envoyer</button></form></main>
<footer><p>Pied de page</p></footer></body></html>"""

BROKEN_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Page cassée</title>
<link rel="stylesheet" href="/style.css"></head>
<body><main><h1>Formulaire</h1>
<img src="/pixel.svg">
<input name="email" type="text">
<p class="pale">Texte presque invisible</p></main></body></html>"""

EXTERNAL_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Script externe</title>
<script src="https://example.org/x.js"></script></head>
<body><main><h1>Externe</h1><img src="http://cdn.example.net/logo.png" alt="logo"></main>
</body></html>"""

STYLE = "body{font-family:sans-serif;color:#161616;background:#fff}.pale{color:#ddd}"
PIXEL = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<rect width="10" height="10" fill="#000091"/></svg>'
)


def make_app() -> Flask:
    app = Flask(__name__)

    @app.after_request
    def csp(response):
        # /external is served without CSP: the CSP would block the outside script before any
        # request is made, and this page tests the network guard, not the CSP.
        if request.path != "/external":
            response.headers["Content-Security-Policy"] = STRICT_CSP
        return response

    @app.get("/good")
    def good():
        return GOOD_PAGE

    @app.get("/broken")
    def broken():
        return BROKEN_PAGE

    @app.get("/external")
    def external():
        return EXTERNAL_PAGE

    @app.get("/style.css")
    def style():
        return STYLE, 200, {"Content-Type": "text/css"}

    @app.get("/pixel.svg")
    def pixel():
        return PIXEL, 200, {"Content-Type": "image/svg+xml"}

    return app


@pytest.fixture(scope="module")
def base_url():
    with serve(make_app()) as url:
        yield url


def test_correct_page_passes_under_strict_csp(page, base_url):
    response = page.goto(f"{base_url}/good")
    assert response is not None and response.ok
    assert response.headers["content-security-policy"] == STRICT_CSP
    # axe is injected and run although the page forbids inline scripts and eval.
    results = assert_accessible(page)
    assert isinstance(results["violations"], list)
    assert page.external_requests == []
    assert page.console_errors == []
    assert screenshot(page, "harness-good").stat().st_size > 0


def test_broken_page_is_flagged(page, base_url):
    page.goto(f"{base_url}/broken")
    with pytest.raises(AccessibilityError) as excinfo:
        assert_accessible(page)
    found = {v["id"] for v in excinfo.value.violations}
    assert {"image-alt", "label", "color-contrast"} <= found, found
    message = str(excinfo.value)
    assert "image-alt [critical]" in message
    assert "color-contrast [serious]" in message
    assert "img" in message  # first target selectors are listed


def test_external_requests_are_aborted_and_recorded(page, base_url):
    page.goto(f"{base_url}/external")
    page.wait_for_load_state("load")
    assert "https://example.org/x.js" in page.external_requests
    assert "http://cdn.example.net/logo.png" in page.external_requests
    assert all("127.0.0.1" not in url for url in page.external_requests)
