"""Agent accounts (issue 22): lock shown on the card and lifted by an administrator, the
administrator's password reset (unlock, forced change, sessions ended), the agent's own change,
and the one password policy on every form that sets a password (agents' and taxpayers')."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from factories import PASSWORD, World
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    clear_rate_limits,
    csrf_token,
    session_csrf_token,
    sign_in_agent,
    submit_form,
)
from sqlalchemy import select
from werkzeug.security import check_password_hash

from app.platform import passwords
from app.taxpayers.accounts import SALT_RESET, link_serializer, password_digest
from models import Agent, Event, EventKind, LoginSession, Taxpayer, db

WRONG = "not the password at all"
STRONG = "Une phrase de passe vraiment longue 42"
# One of each reason the policy gives, for every form.
WEAK = {
    "court": "Trop court",
    "courant": "Motdepasse2026!",
    "identifiant": "xx-{username}-2026-xx",
}
TOO_SHORT = "au moins 12 caractères"
TOO_COMMON = "trop courant"
HAS_IDENTIFIER = "contenir votre identifiant"
REASONS = {"court": TOO_SHORT, "courant": TOO_COMMON, "identifiant": HAS_IDENTIFIER}


@pytest.fixture(autouse=True)
def _fresh_limits(app: Flask) -> Iterator[None]:
    clear_rate_limits(app)
    yield
    clear_rate_limits(app)


def _text(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


def _lock(client: FlaskClient, agent: Agent) -> None:
    for _ in range(5):
        submit_form(client, "/login/", {"username": agent.username, "password": WRONG})


def _reload(agent_id: int) -> Agent:
    db.session.expire_all()
    agent = db.session.get(Agent, agent_id)
    assert agent is not None
    return agent


# --- the policy itself --------------------------------------------------------------------------


def test_the_policy_gives_each_reason() -> None:
    assert passwords.problems(STRONG, identifiers=["agent1"]) == []
    assert passwords.problems("court") and TOO_SHORT in passwords.problems("court")[0]
    for common in ("azertyuiop123", "Motdepasse2026!", "  MOTDEPASSE  123456 ", "bienvenue2026"):
        assert any(TOO_COMMON in reason for reason in passwords.problems(common)), common
    found = passwords.problems("moncompte-Agent.Dupont-2026", identifiers=["agent.dupont"])
    assert any(HAS_IDENTIFIER in reason for reason in found)
    assert len(passwords.common_passwords()) > 200


# --- lock and unlock ----------------------------------------------------------------------------


def test_a_locked_agent_is_shown_locked_and_the_administrator_unlocks_it(
    app: Flask, client: FlaskClient, world: World, admin_client: FlaskClient
) -> None:
    agent_id = world.agent_a.id
    card = f"/users/show/{agent_id}"
    assert "Non bloqué" in _text(admin_client.get(card))
    assert "Débloquer" not in _text(admin_client.get(card))
    _lock(client, world.agent_a)
    page = _text(admin_client.get(card))
    assert re.search(r"Bloqué jusqu&#39;à \d\d:\d\d|Bloqué jusqu'à \d\d:\d\d", page), page
    assert "Débloquer" in page
    assert "Bloqué jusqu" in _text(admin_client.get("/users/list/"))
    # The right password is refused while locked.
    refused = submit_form(
        client, "/login/", {"username": world.agent_a.username, "password": PASSWORD}
    )
    assert refused.status_code == 200 and "Trop d&#39;échecs" in _text(refused)

    token = csrf_token(admin_client, card)
    done = admin_client.post(
        f"/users/action/unlock/{agent_id}", data={"csrf_token": token}, follow_redirects=True
    )
    assert "débloqué" in _text(done)
    agent = _reload(agent_id)
    assert agent.locked_until is None and agent.fail_login_count == 0
    event = db.session.scalar(select(Event).where(Event.kind == EventKind.AGENT_UNLOCKED))
    assert event is not None and event.actor_agent_id == world.admin.id
    assert event.data["agent_id"] == agent_id
    # The agent signs in again at once (the second step opens).
    again = submit_form(client, "/login/", {"username": agent.username, "password": PASSWORD})
    assert again.status_code == 302 and again.headers["Location"].endswith("/login/otp")


def test_unlock_is_for_administrators_only(
    app: Flask, client: FlaskClient, world: World, manager_client: FlaskClient
) -> None:
    _lock(client, world.agent_a)
    token = session_csrf_token(app, manager_client)
    response = manager_client.post(
        f"/users/action/unlock/{world.agent_a.id}", data={"csrf_token": token}
    )
    assert response.status_code in (302, 403, 404)
    assert _reload(world.agent_a.id).locked_until is not None
    url = f"/resetpassword/form?pk={world.agent_a.id}"
    assert manager_client.get(url).status_code in (302, 403)
    posted = manager_client.post(
        url, data={"csrf_token": token, "password": STRONG, "conf_password": STRONG}
    )
    assert posted.status_code in (302, 403)
    assert check_password_hash(_reload(world.agent_a.id).password, PASSWORD)


# --- the administrator's reset ------------------------------------------------------------------


def test_a_reset_refuses_weak_passwords_then_unlocks_forces_a_change_and_ends_sessions(
    app: Flask, client: FlaskClient, world: World, admin_client: FlaskClient
) -> None:
    agent_id = world.agent_a.id
    url = f"/resetpassword/form?pk={agent_id}"
    _lock(client, world.agent_a)
    agent_session = sign_in_agent(app.test_client(), world.agent_a)
    assert agent_session.get("/agent/").status_code == 200

    page = _text(admin_client.get(url))
    assert "Réinitialiser le mot de passe" in page and world.agent_a.username in page
    for english in ("Save", "Back", "Reset Password Form", "Contraseña", "Password Changed"):
        assert english not in page
    for name, weak in WEAK.items():
        weak = weak.format(username=world.agent_a.username)
        response = submit_form(admin_client, url, {"password": weak, "conf_password": weak})
        assert response.status_code == 400 and REASONS[name] in _text(response), name
    assert check_password_hash(_reload(agent_id).password, PASSWORD)

    done = submit_form(
        admin_client, url, {"password": STRONG, "conf_password": STRONG}, follow_redirects=True
    )
    assert "réinitialisé" in _text(done) and "Contraseña" not in _text(done)
    agent = _reload(agent_id)
    assert check_password_hash(agent.password, STRONG)
    assert agent.locked_until is None and agent.fail_login_count == 0
    assert agent.must_change_password
    live = select(LoginSession).where(
        LoginSession.agent_id == agent_id, LoginSession.ended_at.is_(None)
    )
    assert db.session.scalars(live).all() == []  # ended on the server, every copy of the cookie
    assert db.session.scalar(select(Event).where(Event.kind == EventKind.AGENT_PASSWORD_RESET))
    # The agent's session that was open is over.
    ended = agent_session.get("/agent/")
    assert ended.status_code == 302 and "/login/" in ended.headers["Location"]
    # An unknown agent is a 404, a missing pk too.
    assert admin_client.get("/resetpassword/form?pk=999999").status_code == 404
    assert admin_client.get("/resetpassword/form").status_code == 404


def test_after_a_reset_the_agent_must_change_the_password_first(
    app: Flask, world: World, admin_client: FlaskClient
) -> None:
    agent_id = world.agent_a.id
    submit_form(
        admin_client,
        f"/resetpassword/form?pk={agent_id}",
        {"password": STRONG, "conf_password": STRONG},
    )
    agent_client = app.test_client()
    # Signs in with the password the administrator gave (no second factor in this test).
    app.config["AGENT_MFA_REQUIRED"] = False
    try:
        signed = submit_form(
            agent_client, "/login/", {"username": world.agent_a.username, "password": STRONG}
        )
        assert signed.status_code == 302
        forced = agent_client.get("/agent/demandes/")
        assert forced.status_code == 302
        assert forced.headers["Location"].endswith("/resetmypassword/form")
        url = "/resetmypassword/form"
        page = _text(agent_client.get(url))
        assert "Changer mon mot de passe" in page and "choisissez-en un nouveau" in page
        for name, weak in WEAK.items():
            weak = weak.format(username=world.agent_a.username)
            response = submit_form(
                agent_client,
                url,
                {"current_password": STRONG, "password": weak, "conf_password": weak},
            )
            assert response.status_code == 400 and REASONS[name] in _text(response), name
        same = submit_form(
            agent_client,
            url,
            {"current_password": STRONG, "password": STRONG, "conf_password": STRONG},
        )
        assert same.status_code == 400 and "différent de l&#39;actuel" in _text(same)
        new = "Encore une autre phrase bien longue 7"
        done = submit_form(
            agent_client, url, {"current_password": STRONG, "password": new, "conf_password": new}
        )
        assert done.status_code == 302
        agent = _reload(agent_id)
        assert not agent.must_change_password and check_password_hash(agent.password, new)
        # This session goes on; the flag no longer sends anywhere.
        assert agent_client.get("/agent/demandes/").status_code == 200
    finally:
        app.config["AGENT_MFA_REQUIRED"] = True


def test_an_agent_changes_their_own_password(
    app: Flask, world: World, agent_a_client: FlaskClient
) -> None:
    url = "/resetmypassword/form"
    assert "Changer mon mot de passe" in _text(agent_a_client.get("/agent/"))
    wrong = submit_form(
        agent_a_client,
        url,
        {"current_password": WRONG, "password": STRONG, "conf_password": STRONG},
    )
    assert wrong.status_code == 400 and "n&#39;est pas le bon" in _text(wrong)
    mismatch = submit_form(
        agent_a_client,
        url,
        {"current_password": PASSWORD, "password": STRONG, "conf_password": STRONG + "x"},
    )
    assert mismatch.status_code == 400 and "différents" in _text(mismatch)
    done = submit_form(
        agent_a_client,
        url,
        {"current_password": PASSWORD, "password": STRONG, "conf_password": STRONG},
        follow_redirects=True,
    )
    assert "Votre mot de passe a été changé" in _text(done)
    assert check_password_hash(_reload(world.agent_a.id).password, STRONG)
    # Still signed in here.
    assert agent_a_client.get("/agent/").status_code == 200


def test_the_add_agent_form_applies_the_policy(world: World, admin_client: FlaskClient) -> None:
    base = {
        "first_name": "Jeanne",
        "last_name": "Martin",
        "username": "jeanne.martin",
        "email": "jeanne.martin@dgfip.example",
        "office": str(world.office_a.id),
        "roles": [str(role.id) for role in world.agent_a.roles],
        "active": "y",
    }
    for name, weak in WEAK.items():
        weak = weak.format(username="jeanne.martin")
        response = submit_form(
            admin_client, "/users/add", {**base, "password": weak, "conf_password": weak}
        )
        assert REASONS[name] in _text(response), name
        assert db.session.scalar(select(Agent).where(Agent.username == "jeanne.martin")) is None
    submit_form(admin_client, "/users/add", {**base, "password": STRONG, "conf_password": STRONG})
    assert db.session.scalar(select(Agent).where(Agent.username == "jeanne.martin")) is not None


def test_fab_cli_reset_password_applies_the_policy(app: Flask, world: World) -> None:
    runner = app.test_cli_runner()
    weak = runner.invoke(
        args=["fab", "reset-password", "--username", world.agent_a.username, "--password", "abc"]
    )
    assert weak.exit_code != 0
    assert check_password_hash(_reload(world.agent_a.id).password, PASSWORD)


# --- taxpayers ----------------------------------------------------------------------------------


def test_taxpayer_forms_apply_the_same_policy(
    app: Flask, client: FlaskClient, world: World
) -> None:
    registration = {
        "kind": "individual",
        "identifier": "1 234 567 890 999",
        "first_name": "Lucie",
        "last_name": "Bernard",
        "email": "lucie@example.fr",
        "commune_code": "69383",
        "postcode": "69003",
    }
    for name, weak in WEAK.items():
        weak = weak.format(username="1234567890999")
        response = submit_form(
            client,
            "/espace/inscription",
            {**registration, "password": weak, "password_confirm": weak},
        )
        assert REASONS[name] in _text(response), name
    assert db.session.scalar(select(Taxpayer).where(Taxpayer.tax_number == "1234567890999")) is None

    taxpayer = world.taxpayer_a
    with app.test_request_context():
        token = link_serializer(SALT_RESET).dumps(
            {"t": taxpayer.id, "h": password_digest(taxpayer)}
        )
    url = f"/espace/mot-de-passe/{token}"
    for name, weak in WEAK.items():
        weak = weak.format(username=taxpayer.tax_number)
        response = submit_form(client, url, {"password": weak, "password_confirm": weak})
        assert REASONS[name] in _text(response), name
    done = submit_form(client, url, {"password": STRONG, "password_confirm": STRONG})
    assert done.status_code == 302
    db.session.expire_all()
    stored = db.session.get(Taxpayer, taxpayer.id)
    assert stored is not None and check_password_hash(stored.password_hash or "", STRONG)
