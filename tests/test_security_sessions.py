"""Issue 20, findings 3, 8 and 9: sessions end on the server (a copied cookie dies with its
logout), logout is a POST with its token, "end my other sessions", an administrator ends an
agent's sessions, a new password or second factor ends them; a page of another site cannot plant
a draft nor replace a taxpayer's session."""

from __future__ import annotations

import time
from typing import Any

import pytest
from factories import World
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    count_queries,
    csrf_token,
    session_csrf_token,
    sign_in_agent,
    sign_in_taxpayer,
    submit_form,
)
from sqlalchemy import select

from app.platform import sessions
from app.platform.queue import get_redis
from models import LoginSession, db


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value)
    return thief


def agent_in(client: FlaskClient) -> bool:
    return client.get("/agent/").status_code == 200


def taxpayer_in(client: FlaskClient) -> bool:
    return client.get("/espace/").status_code == 200


def post(app: Flask, client: FlaskClient, url: str, **data: Any) -> Any:
    return client.post(url, data={"csrf_token": session_csrf_token(app, client), **data})


def test_finding_3_a_copied_agent_cookie_stops_working_after_logout(
    app: Flask, world: World
) -> None:
    agent = sign_in_agent(app.test_client(), world.agent_a)
    agent.get("/agent/")  # the cookie as the browser holds it
    thief = copy_of(app, agent)
    assert agent_in(thief)
    response = post(app, agent, "/logout/")
    assert response.status_code == 302
    assert not agent_in(agent)
    assert not agent_in(thief)  # the copy died with the logout, not 30 minutes later
    with app.app_context():
        ended = db.session.scalars(select(LoginSession)).one()
        assert ended.ended_at is not None and ended.ended_reason == "logout"


def test_finding_3_a_copied_taxpayer_cookie_stops_working_after_logout(
    app: Flask, world: World
) -> None:
    taxpayer = sign_in_taxpayer(app.test_client(), world.taxpayer_a)
    taxpayer.get("/espace/")
    thief = copy_of(app, taxpayer)
    assert taxpayer_in(thief)
    assert post(app, taxpayer, "/espace/deconnexion").status_code == 302
    assert not taxpayer_in(taxpayer)
    assert not taxpayer_in(thief)


def test_finding_8_logout_is_refused_on_get_and_without_its_token(app: Flask, world: World) -> None:
    agent = sign_in_agent(app.test_client(), world.agent_a)
    assert agent.get("/logout/").status_code == 405  # a link or an <img> on any site
    assert agent.post("/logout/").status_code == 400  # a form without the token
    assert agent_in(agent)
    taxpayer = sign_in_taxpayer(app.test_client(), world.taxpayer_a)
    assert taxpayer.get("/espace/deconnexion").status_code == 405
    assert taxpayer.post("/espace/deconnexion").status_code == 400
    assert taxpayer_in(taxpayer)


def test_the_agent_logout_form_posts_its_token(app: Flask, world: World) -> None:
    agent = sign_in_agent(app.test_client(), world.agent_a)
    page = agent.get("/agent/").get_data(as_text=True)
    assert 'method="post" action="/logout/"' in page
    token = csrf_token(agent, "/agent/")
    assert agent.post("/logout/", data={"csrf_token": token}).status_code == 302
    assert not agent_in(agent)


def test_an_agent_ends_their_other_sessions_and_keeps_this_one(app: Flask, world: World) -> None:
    here = sign_in_agent(app.test_client(), world.agent_a)
    elsewhere = sign_in_agent(app.test_client(), world.agent_a)
    colleague = sign_in_agent(app.test_client(), world.agent_b)
    page = here.get("/mes-sessions/").get_data(as_text=True)
    assert "Fermer mes autres sessions" in page
    response = submit_form(here, "/mes-sessions/", {})
    assert response.status_code == 302
    assert "Vos autres sessions sont fermées (1)" in here.get("/mes-sessions/").get_data(
        as_text=True
    )
    assert agent_in(here)
    assert not agent_in(elsewhere)
    assert agent_in(colleague)


def test_a_taxpayer_ends_their_other_sessions_and_keeps_this_one(app: Flask, world: World) -> None:
    sign_in = sign_in_taxpayer
    here, elsewhere = (sign_in(app.test_client(), world.taxpayer_a) for _ in range(2))
    other = sign_in(app.test_client(), world.taxpayer_b)
    assert "Fermer mes autres sessions" in here.get("/espace/compte").get_data(as_text=True)
    token = csrf_token(here, "/espace/compte")
    assert here.post("/espace/compte/sessions", data={"csrf_token": token}).status_code == 302
    assert [taxpayer_in(c) for c in (here, elsewhere, other)] == [True, False, True]


def test_an_administrator_ends_an_agent_s_sessions(app: Flask, world: World) -> None:
    agent = sign_in_agent(app.test_client(), world.agent_a)
    admin = sign_in_agent(app.test_client(), world.admin)
    card = admin.get(f"/users/show/{world.agent_a.id}").get_data(as_text=True)
    assert "Fermer ses sessions" in card
    response = post(app, admin, f"/users/action/end_agent_sessions/{world.agent_a.id}")
    assert response.status_code == 302
    assert not agent_in(agent)
    assert agent_in(admin)
    # An agent may not end another's sessions.
    other = sign_in_agent(app.test_client(), world.agent_a)
    colleague = sign_in_agent(app.test_client(), world.agent_b)
    refused = post(app, colleague, f"/users/action/end_agent_sessions/{world.agent_a.id}")
    assert refused.status_code in (302, 403, 404)
    assert agent_in(other)


def test_resetting_an_agent_s_password_or_second_factor_ends_their_sessions(
    app: Flask, world: World
) -> None:
    admin = sign_in_agent(app.test_client(), world.admin)
    agent = sign_in_agent(app.test_client(), world.agent_a)
    reset = post(
        app,
        admin,
        f"/resetpassword/form?pk={world.agent_a.id}",
        password="un-nouveau-mot-de-passe-2026",
        conf_password="un-nouveau-mot-de-passe-2026",
    )
    assert reset.status_code == 302
    assert not agent_in(agent)
    agent = sign_in_agent(app.test_client(), world.agent_a)
    post(app, admin, f"/users/action/reset_second_factor/{world.agent_a.id}")
    assert not agent_in(agent)
    assert agent_in(admin)


def test_a_new_taxpayer_password_ends_every_session(
    app: Flask, world: World, smtp_server: Any
) -> None:
    from app.taxpayers.accounts import SALT_RESET, link_serializer, password_digest

    signed_in = sign_in_taxpayer(app.test_client(), world.taxpayer_a)
    with app.test_request_context():
        token = link_serializer(SALT_RESET).dumps(
            {"t": world.taxpayer_a.id, "h": password_digest(world.taxpayer_a)}
        )
    visitor = app.test_client()
    response = submit_form(
        visitor,
        f"/espace/mot-de-passe/{token}",
        {
            "password": "un autre mot de passe 2026",
            "password_confirm": "un autre mot de passe 2026",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert not taxpayer_in(signed_in)


def test_a_live_session_costs_one_redis_get_and_no_sql(app: Flask, world: World) -> None:
    """The figure docs/security.md quotes: the check of a warm session, and of a cold one."""
    client = sign_in_agent(app.test_client(), world.agent_a)
    with client.session_transaction() as session:
        token = session[sessions.AGENT_SID]
    with app.test_request_context(), count_queries(app) as statements:
        started = time.perf_counter()
        for _ in range(1000):
            assert sessions.is_live(token)
        warm = (time.perf_counter() - started) / 1000
    assert statements == []  # no SQL once cached
    with app.test_request_context():
        started = time.perf_counter()
        for _ in range(200):
            get_redis().delete(sessions.PREFIX + sessions._digest(token))
            assert sessions.is_live(token)
        cold = (time.perf_counter() - started) / 200
    print(f"session check: warm {warm * 1e3:.3f} ms, cold {cold * 1e3:.3f} ms")
    assert warm < 0.005  # 5 ms: a loose bound for a shared CI machine


def test_an_ended_session_is_refused_even_when_redis_has_no_verdict(
    app: Flask, world: World
) -> None:
    agent = sign_in_agent(app.test_client(), world.agent_a)
    agent.get("/agent/")
    thief = copy_of(app, agent)
    post(app, agent, "/logout/")
    with app.app_context():  # Redis lost its verdicts (flushed, restarted): the database answers
        for key in get_redis().scan_iter(sessions.PREFIX + "*"):
            get_redis().delete(key)
    assert not agent_in(thief)


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://attacker.example"}, {"Sec-Fetch-Site": "cross-site"}],
)
def test_finding_9_another_site_cannot_plant_a_draft_nor_replace_the_session(
    app: Flask, world: World, headers: dict[str, str]
) -> None:
    # SameSite=Lax: the browser sends no cookie with a cross-site POST, so the app sees nobody.
    attacker = app.test_client()
    response = attacker.post(
        "/espace/demandes/nouvelle",
        data={"subject": "Changement de RIB", "body": "Mon nouvel IBAN est FR76 ..."},
        headers=headers,
    )
    assert response.status_code == 302
    assert "Set-Cookie" not in response.headers  # the victim's session cookie is not replaced
    # Signed in again, the taxpayer finds an empty form.
    victim = sign_in_taxpayer(app.test_client(), world.taxpayer_a)
    page = victim.get("/espace/demandes/nouvelle").get_data(as_text=True)
    assert "Changement de RIB" not in page and "IBAN" not in page


def test_a_draft_of_this_site_still_survives_an_expired_session(app: Flask, world: World) -> None:
    client = app.test_client()
    response = client.post(
        "/espace/demandes/nouvelle",
        data={"subject": "Ma question", "body": "Bonjour, voici ma question."},
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "taxpayer_draft" in session


def test_old_sessions_are_deleted_by_the_daily_job_and_stop_working(
    app: Flask, world: World
) -> None:
    """Rows of sessions ended long ago go; so does a session never ended but opened more than
    SESSION_MAX_DAYS ago (its absolute lifetime), even if a server had cached it as live."""
    from datetime import timedelta

    from jobs.storage import remove_orphans
    from models import utcnow

    old_agent = sign_in_agent(app.test_client(), world.agent_a)
    assert agent_in(old_agent)  # its verdict "live" is now cached in Redis
    recent = sign_in_agent(app.test_client(), world.agent_b)
    ended = sign_in_agent(app.test_client(), world.manager_a)
    post(app, ended, "/logout/")
    days = app.config["SESSION_MAX_DAYS"]
    rows = {row.agent_id: row for row in db.session.scalars(select(LoginSession))}
    rows[world.agent_a.id].created_at = utcnow() - timedelta(days=days + 1)
    rows[world.manager_a.id].ended_at = utcnow() - timedelta(days=days + 1)
    db.session.commit()

    assert remove_orphans().endswith("; 2 old sign-in session(s) deleted")
    left = db.session.scalars(select(LoginSession.agent_id)).all()
    assert left == [world.agent_b.id]
    assert not agent_in(old_agent)  # signed out at its next page, not served from the cache
    assert agent_in(recent)
    assert remove_orphans().endswith("; 0 old sign-in session(s) deleted")
