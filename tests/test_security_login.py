"""The agents' login: password then TOTP code, enrolment, replay, lockout, rate limits, the closed
JSON login, the relaxed demo setting, idle sessions (docs/security.md)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pyotp
import pytest
from factories import PASSWORD, World, make_agent
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    clear_rate_limits,
    csrf_token,
    open_enrolment_link,
    session_csrf_token,
    sign_in_agent,
    sign_in_taxpayer,
    submit_form,
)

from app import create_app
from config import ConfigurationError, load_settings
from models import Agent, db, utcnow

WRONG = "not the password at all"
INVALID = "Identifiant ou mot de passe incorrect."
LOCKED = "Trop d&#39;échecs de connexion avec cet identifiant"
_SECRET = re.compile(r'id="otp-secret"[^>]*data-secret="([A-Z2-7]+)"')


@pytest.fixture(autouse=True)
def _fresh_limits(app: Flask) -> Iterator[None]:
    """Rate-limit counters live in Redis across tests: start each test without them."""

    clear_rate_limits(app)
    yield
    clear_rate_limits(app)


def _password(client: FlaskClient, username: str, password: str = PASSWORD):
    return submit_form(client, "/login/", {"username": username, "password": password})


def _code(secret: str, step_offset: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(datetime.now()) + step_offset)


def _enrol(client: FlaskClient, agent: Agent) -> str:
    response = _password(client, agent.username)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/otp")
    open_enrolment_link(client, agent.username)
    page = client.get("/login/otp").get_data(as_text=True)
    match = _SECRET.search(page)
    assert match, "the enrolment page shows the secret"
    secret = match.group(1)
    done = submit_form(client, "/login/otp", {"otp": _code(secret)})
    assert done.status_code == 302
    return secret


def _agent_home_text(client: FlaskClient) -> tuple[int, str]:
    response = client.get("/agent/")
    return response.status_code, response.get_data(as_text=True)


def test_login_page_is_french_without_registration_nor_captcha(client: FlaskClient) -> None:
    page = client.get("/login/").get_data(as_text=True)
    assert "e-contacts — Connexion des agents" in page
    assert ">Identifiant<" in page and ">Mot de passe<" in page
    assert "Se connecter" in page
    for absent in ("S'enregistrer", "S&#39;enregistrer", "Register", "recaptcha", "google"):
        assert absent.lower() not in page.lower()
    assert "<script>" not in page  # no inline script (CSP)


def test_an_agent_enrols_at_first_login_and_is_signed_in_only_after_the_code(
    app: Flask, client: FlaskClient, world: World
) -> None:
    agent = world.agent_a
    response = _password(client, agent.username)
    assert response.headers["Location"].endswith("/login/otp")
    # The password alone signs nobody in.
    status, _ = _agent_home_text(client)
    assert status == 302
    open_enrolment_link(client, agent.username)
    page = client.get("/login/otp").get_data(as_text=True)
    assert "Activer le code de vérification" in page
    secret = _SECRET.search(page).group(1)  # type: ignore[union-attr]
    assert f"otpauth://totp/e-contacts:{agent.username}?secret={secret}" in page.replace(
        "&amp;", "&"
    )
    wrong = submit_form(
        client, "/login/otp", {"otp": "000000" if _code(secret) != "000000" else "111111"}
    )
    assert "Code incorrect ou déjà utilisé" in wrong.get_data(as_text=True)
    assert db.session.get(Agent, agent.id).otp_secret is None  # type: ignore[union-attr]
    assert _agent_home_text(client)[0] == 302
    ok = submit_form(client, "/login/otp", {"otp": _code(secret)})
    assert ok.status_code == 302
    status, home = _agent_home_text(client)
    assert status == 200 and agent.full_name in home
    db.session.expire_all()
    stored = db.session.get(Agent, agent.id)
    assert stored is not None and stored.otp_secret == secret
    assert stored.otp_last_counter is not None


def test_a_code_works_once_and_the_secret_is_never_shown_again(app: Flask, world: World) -> None:
    agent = world.agent_a
    first = app.test_client()
    secret = _enrol(first, agent)
    used = _code(secret)
    second = app.test_client()
    response = _password(second, agent.username)
    assert response.headers["Location"].endswith("/login/otp")
    page = second.get("/login/otp").get_data(as_text=True)
    assert "otp-secret" not in page and secret not in page
    replay = submit_form(second, "/login/otp", {"otp": used})
    assert "Code incorrect ou déjà utilisé" in replay.get_data(as_text=True)
    assert _agent_home_text(second)[0] == 302
    # The next time step's code (clock drift of one step is accepted) works.
    ok = submit_form(second, "/login/otp", {"otp": _code(secret, +1)})
    assert ok.status_code == 302
    assert _agent_home_text(second)[0] == 200


def test_too_many_wrong_codes_ask_for_the_password_again(
    app: Flask, client: FlaskClient, world: World
) -> None:
    world.agent_a.otp_secret = pyotp.random_base32()  # enrolled
    db.session.commit()
    _password(client, world.agent_a.username)
    token = csrf_token(client, "/login/otp")
    for _ in range(5):
        client.post("/login/otp", data={"csrf_token": token, "otp": "12345x"})
    response = client.post("/login/otp", data={"csrf_token": token, "otp": "123456"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/")
    assert "Trop de codes erronés" in client.get("/login/").get_data(as_text=True)
    assert client.get("/login/otp").headers["Location"].endswith("/login/")


def test_the_sixth_wrong_password_locks_the_account_for_a_while(
    app: Flask, client: FlaskClient, world: World
) -> None:
    agent = world.agent_a
    for attempt in range(5):
        page = _password(client, agent.username, WRONG).get_data(as_text=True)
        assert INVALID in page, attempt
        assert LOCKED not in page
    sixth = _password(client, agent.username, WRONG).get_data(as_text=True)
    assert LOCKED in sixth and "15 minutes" in sixth
    # Locked: even the right password is refused, with the same message.
    right = _password(client, agent.username)
    assert right.status_code == 200 and LOCKED in right.get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(Agent, agent.id)
    assert stored is not None and stored.fail_login_count == 5
    # Fifteen minutes after the last failure, the right password opens the second step.
    assert stored.locked_until is not None
    stored.locked_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    after = _password(client, agent.username)
    assert after.status_code == 302 and after.headers["Location"].endswith("/login/otp")
    db.session.expire_all()
    assert db.session.get(Agent, agent.id).fail_login_count == 0  # type: ignore[union-attr]


def test_an_unknown_identifier_gets_exactly_the_same_answers(
    app: Flask, client: FlaskClient, world: World
) -> None:
    def answers(username: str) -> list[str]:
        found = []
        for _ in range(6):
            page = _password(client, username, WRONG).get_data(as_text=True)
            found.append("locked" if LOCKED in page else "invalid" if INVALID in page else "?")
        return found

    known = answers(world.agent_b.username)
    unknown = answers("personne.inconnue")
    assert known == unknown == ["invalid"] * 5 + ["locked"]


def test_login_attempts_are_rate_limited_per_address(
    app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_ATTEMPTS_PER_IP", 3)
    for number in range(3):
        assert _password(client, f"someone{number}", WRONG).status_code == 200
    limited = _password(client, world.agent_a.username)
    assert limited.status_code == 429
    assert "Trop de tentatives de connexion" in limited.get_data(as_text=True)
    # Nothing is counted against the account by a refused attempt.
    db.session.expire_all()
    assert not db.session.get(Agent, world.agent_a.id).fail_login_count  # type: ignore[union-attr]


def test_login_attempts_are_rate_limited_per_identifier(
    app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_ATTEMPTS_PER_USERNAME", 2)
    monkeypatch.setitem(app.config, "AGENT_LOCKOUT_ATTEMPTS", 100)
    for _ in range(2):
        assert _password(client, world.agent_a.username, WRONG).status_code == 200
    assert _password(client, world.agent_a.username).status_code == 429
    # Another identifier from the same address is not held back by this one.
    assert _password(client, world.agent_b.username).status_code == 302


def test_the_json_login_of_fab_does_not_exist(client: FlaskClient, world: World) -> None:
    for url in ("/api/v1/security/login", "/api/v1/security/refresh"):
        response = client.post(
            url,
            json={"username": world.agent_a.username, "password": PASSWORD, "provider": "db"},
        )
        assert response.status_code in (404, 405), url
        assert "access_token" not in response.get_data(as_text=True)


def test_relaxing_the_second_factor_is_refused_outside_the_demo(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_MFA_REQUIRED", "false")
    monkeypatch.setenv("DEMO_MODE", "false")
    with pytest.raises(ConfigurationError, match="AGENT_MFA_REQUIRED"):
        load_settings()
    monkeypatch.setenv("DEMO_MODE", "true")
    assert load_settings()["AGENT_MFA_REQUIRED"] is False
    with pytest.raises(ConfigurationError, match="AGENT_MFA_REQUIRED"):
        create_app({"AGENT_MFA_REQUIRED": False, "DEMO_MODE": False, "TESTING": True})


def test_in_the_demo_a_relaxed_second_factor_is_announced_on_the_login_page(
    app: Flask, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "AGENT_MFA_REQUIRED", False)
    page = client.get("/login/").get_data(as_text=True)
    assert "Démonstration :" in page and "second facteur" in page
    response = _password(client, world.agent_a.username)
    assert response.status_code == 302
    assert _agent_home_text(client)[0] == 200


def test_logout_ends_the_agent_session_and_keeps_the_taxpayer_one(
    app: Flask, client: FlaskClient, world: World
) -> None:
    sign_in_agent(client, world.agent_a)
    sign_in_taxpayer(client, world.taxpayer_a)
    assert _agent_home_text(client)[0] == 200
    client.post("/logout/", data={"csrf_token": session_csrf_token(app, client)})
    assert _agent_home_text(client)[0] == 302
    with client.session_transaction() as session:
        assert "mfa_ok" not in session
        assert session["taxpayer_id"] == world.taxpayer_a.id
    assert client.get("/espace/").status_code == 200


def _age_session(client: FlaskClient, key: str, minutes: int) -> None:
    with client.session_transaction() as session:
        session[key] = int(time.time()) - minutes * 60


def test_an_idle_agent_session_ends_and_the_taxpayer_one_stays(
    app: Flask, client: FlaskClient, world: World
) -> None:
    sign_in_agent(client, world.agent_a)
    sign_in_taxpayer(client, world.taxpayer_a)
    assert _agent_home_text(client)[0] == 200
    assert client.get("/espace/").status_code == 200
    _age_session(client, "agent_seen_at", app.config["SESSION_IDLE_MINUTES"] - 1)
    assert _agent_home_text(client)[0] == 200  # activity within the limit keeps it
    _age_session(client, "agent_seen_at", app.config["SESSION_IDLE_MINUTES"] + 1)
    status, _ = _agent_home_text(client)
    assert status == 302
    assert "Votre session a expiré après 30 minutes d&#39;inactivité" in client.get(
        "/login/"
    ).get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session and "mfa_ok" not in session
        assert session["taxpayer_id"] == world.taxpayer_a.id
    assert client.get("/espace/").status_code == 200


def test_an_idle_taxpayer_session_ends_and_the_agent_one_stays(
    app: Flask, client: FlaskClient, world: World
) -> None:
    sign_in_agent(client, world.agent_a)
    sign_in_taxpayer(client, world.taxpayer_a)
    client.get("/espace/")
    _age_session(client, "taxpayer_seen_at", app.config["SESSION_IDLE_MINUTES"] + 5)
    assert client.get("/espace/").status_code == 302
    with client.session_transaction() as session:
        assert "taxpayer_id" not in session
        assert session["_user_id"] == str(world.agent_a.id)
    assert _agent_home_text(client)[0] == 200


def test_a_new_agent_can_be_created_and_signs_in_through_both_steps(
    app: Flask, client: FlaskClient, app_context: None
) -> None:
    agent = make_agent(None, "admin", username="nouvel.admin")
    db.session.commit()
    _enrol(client, agent)
    assert client.get("/users/list/").status_code == 200
