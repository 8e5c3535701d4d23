"""A stolen taxpayer session cannot reach agent screens; an agent without the second factor
reaches no agent page nor API; every response carries the security headers."""

from __future__ import annotations

from collections.abc import Iterator

from factories import World, make_case
from flask import Flask
from flask.testing import FlaskClient
from helpers import open_server_session, sign_in_agent, sign_in_taxpayer
from werkzeug.routing import Rule

from models import AuthorKind, Message, db

# The online help for taxpayers (/aide/) is public, like the home page.
TAXPAYER_OR_PUBLIC = (
    "/espace",
    "/static",
    "/appbuilder/static",
    "/demo",
    "/healthz",
    "/lang",
    "/aide",
    "/accessibilite",
)


def _agent_urls(app: Flask, case_id: int, taxpayer_id: int) -> Iterator[tuple[Rule, str]]:
    """Every GET rule outside the taxpayer space and public pages, parameters filled in."""
    values = {
        "case_id": case_id,
        "taxpayer_id": taxpayer_id,
        "office_id": 1,
        "pk": 1,
        "attachment_id": 1,
        "table": "synthese",
        "name": "x",
        "filename": "x.csv",
    }
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.rule.startswith(TAXPAYER_OR_PUBLIC):
            continue
        if rule.rule in ("/", "/login/", "/login/otp", "/logout/", "/back"):
            continue
        if set(rule.arguments) - set(values):
            continue
        _, path = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)  # type: ignore[misc]
        yield rule, path


def _case(world: World) -> int:
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.add(Message(case=case, author_kind=AuthorKind.TAXPAYER, body="Bonjour"))
    db.session.commit()
    return case.id


def _reaches(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 200


def test_a_stolen_taxpayer_cookie_opens_no_agent_screen(app: Flask, world: World) -> None:
    case_id = _case(world)
    thief = app.test_client()
    sign_in_taxpayer(thief, world.taxpayer_a)
    admin = sign_in_agent(app.test_client(), world.admin)
    agent = sign_in_agent(app.test_client(), world.agent_a)
    checked = 0
    for _rule, path in _agent_urls(app, case_id, world.taxpayer_a.id):
        response = thief.get(path, buffered=True)
        assert response.status_code != 200, f"{path} opened with a taxpayer's session"
        assert response.status_code in (302, 401, 403, 404), (path, response.status_code)
        if (
            admin.get(path, buffered=True).status_code == 200
            or agent.get(path, buffered=True).status_code == 200
        ):
            checked += 1
    assert checked >= 10  # the agent screens exist and open for agents


def test_an_agent_without_the_second_factor_reaches_nothing(app: Flask, world: World) -> None:
    case_id = _case(world)
    for person in (world.agent_a, world.admin, world.manager_a):
        half = app.test_client()
        token = open_server_session(half, agent=person)  # a live session, but no code
        with half.session_transaction() as session:  # password passed, no code
            session["_user_id"] = str(person.id)
            session["_fresh"] = True
            session["agent_sid"] = token
        full = sign_in_agent(app.test_client(), person)
        opened = 0
        for _rule, path in _agent_urls(app, case_id, world.taxpayer_a.id):
            if full.get(path, buffered=True).status_code != 200:
                continue
            opened += 1
            response = half.get(path, buffered=True)
            # Refused like an anonymous visitor: sent to the login page, or 401/403/404.
            assert response.status_code in (302, 401, 403, 404), (path, response.status_code)
            if response.status_code == 302:
                assert response.headers["Location"].split("?")[0].endswith("/login/"), path
        assert opened >= 3, person
    # The API too: FAB's menu API answers 401 without the second factor.
    half = app.test_client()
    token = open_server_session(half, agent=world.admin)
    with half.session_transaction() as session:
        session["_user_id"] = str(world.admin.id)
        session["agent_sid"] = token
    assert half.get("/api/v1/menu/").status_code == 401
    assert sign_in_agent(app.test_client(), world.admin).get("/api/v1/menu/").status_code == 200


def test_security_headers_on_every_page(app: Flask, client: FlaskClient, world: World) -> None:
    """Every GET rule of the URL map without parameters (not four chosen pages), as an anonymous
    visitor, a taxpayer and an agent: whatever the answer (page, redirect, refusal), the
    headers are there; signed-in answers are never cached."""
    paths = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set())
        and not rule.arguments
        and not rule.rule.startswith(("/static/", "/appbuilder/static/"))
    )
    assert len(paths) > 40, paths
    visitors = {
        "anonymous": client,
        "taxpayer": sign_in_taxpayer(app.test_client(), world.taxpayer_a),
        "agent": sign_in_agent(app.test_client(), world.agent_a),
    }
    for who, visitor in visitors.items():
        for path in paths:
            response = visitor.get(path)
            response.close()
            where = (who, path, response.status_code)
            csp = response.headers.get("Content-Security-Policy", "")
            assert (
                "script-src 'self'" in csp
                and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
            ), where
            assert "frame-ancestors 'none'" in csp, where
            assert response.headers["X-Content-Type-Options"] == "nosniff", where
            assert response.headers["Referrer-Policy"] == "same-origin", where
            assert "Strict-Transport-Security" not in response.headers, where  # not in test
            if who != "anonymous" and response.status_code == 200 and not path.endswith(".css"):
                assert "no-store" in response.headers.get("Cache-Control", ""), where


def test_production_sends_hsts_and_secure_cookies(app: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from helpers import PRODUCTION_ENV

    from config import load_settings

    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["REMEMBER_COOKIE_SECURE"] is True
    assert settings["HSTS_MAX_AGE"] == 365 * 24 * 3600
    monkeypatch.setitem(app.config, "ECONTACTS_ENV", "production")
    monkeypatch.setitem(app.config, "HSTS_MAX_AGE", 31536000)
    response = app.test_client().get("/")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_session_cookie_is_httponly_and_samesite(app: Flask, client: FlaskClient) -> None:
    response = client.get("/login/")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
