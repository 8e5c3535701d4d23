"""An address the mail server refuses for good (550), with a real app server and worker process.

The taxpayer signs in once through the real pages (the code e-mailed to them, sent by the real
worker) and signs out; their mail server then starts refusing their address. An agent's answer
queues an alert; the worker's send gets a 550: the alert fails at once and the address is marked
undeliverable. At their next sign-in (the browser is trusted, no code asked) the taxpayer sees
"Votre adresse ne reçoit pas nos courriels" with a link to change it in Mon compte; the agent sees
it on the summary sheet; the administrator sees the counts on the home and outbox pages.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pyotp
from factories import World, make_case
from faultkit import (
    Browser,
    ControlledSmtp,
    Proc,
    app_env,
    report,
    sign_in_agent,
    sign_in_taxpayer,
    start_gunicorn,
    start_worker,
    wait_until,
)
from flask import Flask
from sqlalchemy import select

from app.cases import operations
from models import Notification, NotificationStatus, Taxpayer, db

UNDELIVERABLE = "Votre adresse ne reçoit pas nos courriels"


def test_a_refused_address_is_shown_to_the_taxpayer_the_agent_and_the_administrator(
    world: World,
    app: Flask,
    fault_smtp: ControlledSmtp,
    fault_procs: list[Proc],
    tmp_path: Path,
) -> None:
    taxpayer = world.taxpayer_a
    agent_secret, admin_secret = pyotp.random_base32(), pyotp.random_base32()
    world.agent_a.otp_secret = agent_secret
    world.admin.otp_secret = admin_secret
    case = make_case(taxpayer, world.office_a)
    db.session.commit()
    email, identifier = str(taxpayer.email), str(taxpayer.tax_number)
    env = app_env(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=app.config["REDIS_URL"],
        queue=app.config["RQ_QUEUE"],
        mail_port=fault_smtp.port,
        data_dir=tmp_path,
        OUTBOX_SWEEP_SECONDS="1",
    )
    server = start_gunicorn("web-undeliverable", env, tmp_path, workers=1)
    fault_procs.append(server)
    worker = start_worker(f"worker-undeliverable-{uuid.uuid4().hex[:4]}", env, tmp_path)
    fault_procs.append(worker)

    person = Browser(server.base)
    first = sign_in_taxpayer(person, identifier, email, fault_smtp)  # the worker sends the code
    assert taxpayer.display_name in first and UNDELIVERABLE not in first
    _s, space = person.get("/espace/")
    person.post("/espace/deconnexion", {"csrf_token": person.csrf(space)})

    fault_smtp.handler.refused.add(email)  # from now on: 550 5.1.1 unknown user
    operations.reply_to_case(agent=world.agent_a, case=case, body="Voici notre réponse.")
    db.session.commit()  # the alert is queued; the worker sends it

    def failed() -> bool:
        db.session.expire_all()
        row = db.session.scalars(select(Notification).where(Notification.case_id == case.id)).one()
        return row.status is NotificationStatus.FAILED

    wait_until(failed, 30, "the refused alert to fail")
    db.session.expire_all()
    row = db.session.scalars(select(Notification).where(Notification.case_id == case.id)).one()
    marked = db.session.get(Taxpayer, taxpayer.id)
    assert marked is not None and marked.email_undeliverable_at is not None

    again = sign_in_taxpayer(person, identifier, email, fault_smtp)  # trusted browser: no code
    officer, admin = Browser(server.base), Browser(server.base)
    sign_in_agent(officer, world.agent_a.username, agent_secret)
    _s, sheet = officer.get(f"/agent/usagers/{taxpayer.id}/synthese?reason=appel")
    sign_in_agent(admin, world.admin.username, admin_secret)
    _s, home = admin.get("/agent/")
    _s, outbox = admin.get("/referentiel/alertes-en-echec/")
    report(
        "address refused for good (550), through the real pages and worker",
        alerts_due=1,
        sent=0,
        failed=1,
        attempts=row.attempts,
        delivered=fault_smtp.count_for(email),
        taxpayer_saw_notice=UNDELIVERABLE in again,
        agent_saw_it_on_summary="Adresse injoignable depuis le" in sheet,
        admin_home_counts="1 alerte en échec" in home and "1 adresse d'usager injoignable" in home,
    )
    assert row.attempts == 1 and "550" in (row.last_error or "")
    assert UNDELIVERABLE in again and "/espace/compte#changer-adresse" in again
    assert "Adresse injoignable depuis le" in sheet
    assert "1 alerte en échec" in home and "1 adresse d'usager injoignable" in home
    assert "1 adresse d'usager injoignable" in outbox and email in outbox
    assert fault_smtp.count_for(email) == 1  # the sign-in code, before the refusals began
