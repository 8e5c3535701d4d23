"""Issue 20, finding 4: enrolling a second factor needs more than the password. The secret is
shown only after the agent opened, in the same browser, the one-time link e-mailed to their
professional address; the page then shows it as text and as a QR code drawn on the server."""

from __future__ import annotations

import time

import pyotp
import pytest
from factories import PASSWORD, World
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    enrolment_link,
    open_enrolment_link,
    session_csrf_token,
    sign_in_agent,
    submit_form,
)

from models import Agent, db


def _password(client: FlaskClient, username: str) -> None:
    response = submit_form(client, "/login/", {"username": username, "password": PASSWORD})
    assert response.headers["Location"].endswith("/login/otp")


def _stored_secret(app: Flask, agent_id: int) -> str | None:
    with app.app_context():
        agent = db.session.get(Agent, agent_id)
        assert agent is not None
        return agent.otp_secret


def test_the_password_alone_shows_no_secret_and_enrols_nothing(app: Flask, world: World) -> None:
    thief = app.test_client()
    _password(thief, world.agent_a.username)
    page = thief.get("/login/otp").get_data(as_text=True)
    assert 'id="enrolment-sent"' in page
    assert "otp-secret" not in page and "otpauth://" not in page and "<svg" not in page
    assert "a•••@" in page or "•••@" in page  # the address, masked
    # A code computed from a secret of the thief's choosing enrols nothing.
    attempt = thief.post(
        "/login/otp",
        data={
            "csrf_token": session_csrf_token(app, thief),
            "otp": pyotp.TOTP(pyotp.random_base32()).now(),
        },
    )
    assert attempt.status_code == 200
    assert _stored_secret(app, world.agent_a.id) is None
    assert thief.get("/agent/").status_code == 302


def test_the_link_works_only_in_the_browser_that_typed_the_password_and_once(
    app: Flask, world: World
) -> None:
    owner = app.test_client()
    _password(owner, world.agent_a.username)
    owner.get("/login/otp")
    path = enrolment_link(app, world.agent_a.username)
    # Someone else with the password, in another browser, cannot use the link...
    thief = app.test_client()
    _password(thief, world.agent_a.username)
    refused = thief.get(path, follow_redirects=True).get_data(as_text=True)
    assert "Ce lien d&#39;activation n&#39;est plus valable" in refused
    # ...nor can someone who holds only the link.
    stranger = app.test_client()
    assert stranger.get(path).headers["Location"].endswith("/login/")
    # The owner can, once.
    assert owner.get(path).headers["Location"].endswith("/login/otp")
    page = owner.get("/login/otp").get_data(as_text=True)
    assert 'id="otp-secret"' in page
    again = owner.get(path)
    assert again.headers["Location"].endswith("/login/")


def test_an_expired_link_is_refused(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import views.auth

    client = app.test_client()
    _password(client, world.agent_a.username)
    client.get("/login/otp")
    path = enrolment_link(app, world.agent_a.username)
    monkeypatch.setattr(views.auth, "ENROLMENT_SECONDS", 0)
    time.sleep(1.1)
    assert client.get(path).headers["Location"].endswith("/login/")


def test_the_enrolment_page_draws_a_qr_code_inline(app: Flask, world: World) -> None:
    client = app.test_client()
    _password(client, world.agent_a.username)
    open_enrolment_link(client, world.agent_a.username)
    page = client.get("/login/otp").get_data(as_text=True)
    assert '<figure class="ec-otp-qr" id="otp-qr">' in page
    svg = page.split('<figure class="ec-otp-qr" id="otp-qr">')[1].split("</figure>")[0]
    assert svg.strip().startswith("<svg") and 'role="img"' in svg and "<path" in svg
    assert "<img" not in svg and "<script" not in svg and "http" not in svg.split("<path")[0]


def test_a_reset_second_factor_needs_a_new_link(app: Flask, world: World) -> None:
    admin = sign_in_agent(app.test_client(), world.admin)
    world.agent_a.otp_secret = pyotp.random_base32()
    db.session.commit()
    token = session_csrf_token(app, admin)
    admin.post(f"/users/action/reset_second_factor/{world.agent_a.id}", data={"csrf_token": token})
    assert _stored_secret(app, world.agent_a.id) is None
    client = app.test_client()
    _password(client, world.agent_a.username)
    assert 'id="enrolment-sent"' in client.get("/login/otp").get_data(as_text=True)
