"""Issue 20, findings 6 and 7: a code is used once whatever the concurrency (the taxpayer's
e-mailed code, the agent's TOTP step), and a wrong password, an unknown identifier and a locked
account cannot be told apart, by their answer or by their time."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from factories import PASSWORD, World
from flask import Flask
from flask.testing import FlaskClient
from helpers import clear_rate_limits, csrf_token, run_jobs, submit_form

from models import Agent, db, utcnow

INVALID = "Identifiant ou mot de passe incorrect."
LOCKED = "Trop d&#39;échecs de connexion avec cet identifiant"


def copies(app: Flask, client: FlaskClient, count: int) -> list[FlaskClient]:
    """``count`` browsers holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    result = []
    for _ in range(count):
        other = app.test_client()
        other.set_cookie("session", cookie.value)
        result.append(other)
    return result


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_finding_6_concurrent_wrong_codes_are_counted_and_the_code_then_refused(
    app: Flask, world: World, smtp_server: Any
) -> None:
    taxpayer = world.taxpayer_a
    client = app.test_client()
    response = submit_form(
        client, "/espace/connexion", {"identifier": taxpayer.identifier, "password": PASSWORD}
    )
    assert response.headers["Location"].endswith("/espace/connexion/code")
    run_jobs(app)
    mail = [m for m in smtp_server.messages if m["To"] == taxpayer.email][-1]
    body = str(mail.get_body(preferencelist=("plain",)).get_content())
    code = next(
        word for word in body.replace(".", " ").split() if word.isdigit() and len(word) == 6
    )
    wrong = "000000" if code != "000000" else "111111"
    token = csrf_token(client, "/espace/connexion/code")
    browsers = copies(app, client, 12)
    answers = at_once(
        [
            (
                lambda b=b: b.post(
                    "/espace/connexion/code", data={"csrf_token": token, "code": wrong}
                )
            )
            for b in browsers
        ]
    )
    assert all(a.status_code in (200, 302) for a in answers)
    # Five tries at most were evaluated: the right code no longer works.
    late = client.post("/espace/connexion/code", data={"csrf_token": token, "code": code})
    assert late.status_code == 302 and late.headers["Location"].endswith("/espace/connexion")
    assert client.get("/espace/").status_code == 302


def test_finding_6_the_right_taxpayer_code_signs_in_once(
    app: Flask, world: World, smtp_server: Any
) -> None:
    taxpayer = world.taxpayer_b
    client = app.test_client()
    submit_form(
        client, "/espace/connexion", {"identifier": taxpayer.identifier, "password": PASSWORD}
    )
    run_jobs(app)
    mail = [m for m in smtp_server.messages if m["To"] == taxpayer.email][-1]
    body = str(mail.get_body(preferencelist=("plain",)).get_content())
    code = next(
        word for word in body.replace(".", " ").split() if word.isdigit() and len(word) == 6
    )
    token = csrf_token(client, "/espace/connexion/code")
    browsers = copies(app, client, 4)
    answers = at_once(
        [
            (lambda b=b: b.post("/espace/connexion/code", data={"csrf_token": token, "code": code}))
            for b in browsers
        ]
    )
    signed_in = [a for a in answers if a.headers.get("Location", "").endswith("/espace/")]
    assert len(signed_in) == 1, [a.headers.get("Location") for a in answers]


def test_finding_6_one_totp_code_signs_in_once_from_three_sessions_at_once(
    app: Flask, world: World
) -> None:
    secret = pyotp.random_base32()
    world.agent_a.otp_secret = secret
    db.session.commit()
    browsers = []
    for _ in range(3):
        browser = app.test_client()
        submit_form(browser, "/login/", {"username": world.agent_a.username, "password": PASSWORD})
        browsers.append((browser, csrf_token(browser, "/login/otp")))
    code = pyotp.TOTP(secret).now()
    answers = at_once(
        [
            (lambda b=b, t=t: b.post("/login/otp", data={"csrf_token": t, "otp": code}))
            for b, t in browsers
        ]
    )
    assert [a.status_code for a in answers].count(302) == 1, [a.status_code for a in answers]
    assert sum(b.get("/agent/").status_code == 200 for b, _ in browsers) == 1


def _attempt(client: FlaskClient, username: str, password: str) -> tuple[str, float]:
    started = time.perf_counter()
    page = submit_form(client, "/login/", {"username": username, "password": password})
    elapsed = time.perf_counter() - started
    text = page.get_data(as_text=True)
    return ("locked" if LOCKED in text else "invalid" if INVALID in text else "?"), elapsed


def test_finding_7_after_a_lock_runs_out_a_known_account_answers_as_an_unknown_one(
    app: Flask, world: World
) -> None:
    client = app.test_client()
    agent = world.agent_b
    for _ in range(6):
        _attempt(client, agent.username, "mauvais mot de passe")
        _attempt(client, "personne.inconnue", "mauvais mot de passe")
    assert _attempt(client, agent.username, PASSWORD)[0] == "locked"
    assert _attempt(client, "personne.inconnue", PASSWORD)[0] == "locked"
    # Both locks run out (the account's in the database, the identifier's in Redis).
    stored = db.session.get(Agent, agent.id)
    assert stored is not None
    stored.locked_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    clear_rate_limits(app)
    assert _attempt(client, agent.username, "mauvais mot de passe")[0] == "invalid"
    assert _attempt(client, "personne.inconnue", "mauvais mot de passe")[0] == "invalid"


def test_finding_7_every_refusal_costs_one_password_hash(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flask_appbuilder.security.manager as fab_manager

    import app.fab.security as security

    hashes: list[str] = []

    def counting(original: Callable[[str, str], bool]) -> Callable[[str, str], bool]:
        def check(pwhash: str, password: str) -> bool:
            hashes.append(pwhash[:6])
            return original(pwhash, password)

        return check

    monkeypatch.setattr(security, "check_password_hash", counting(security.check_password_hash))
    monkeypatch.setattr(
        fab_manager, "check_password_hash", counting(fab_manager.check_password_hash)
    )
    locked = world.agent_a
    locked.fail_login_count = 5
    locked.locked_until = utcnow() + timedelta(minutes=15)
    db.session.commit()
    timings: dict[str, list[float]] = {"wrong": [], "unknown": [], "locked": []}
    cases = {
        "wrong": (world.agent_b.username, "mauvais mot de passe"),
        "unknown": ("personne.inconnue", "mauvais mot de passe"),
        "locked": (locked.username, PASSWORD),
    }
    client = app.test_client()
    for _round in range(3):
        for name, (username, password) in cases.items():
            clear_rate_limits(app)
            hashes.clear()
            answer, elapsed = _attempt(client, username, password)
            assert len(hashes) == 1, (name, hashes)
            assert answer == ("locked" if name == "locked" else "invalid"), name
            timings[name].append(elapsed)
            # Keep the known account from locking during the rounds.
            db.session.expire_all()
            other = db.session.get(Agent, world.agent_b.id)
            assert other is not None
            other.fail_login_count = 0
            db.session.commit()
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print("login refusals, median seconds:", medians)
    assert max(medians.values()) < 3 * min(medians.values()), medians
