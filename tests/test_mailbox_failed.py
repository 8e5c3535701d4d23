"""E-mails whose processing failed (``/referentiel/courriels-en-echec/``): an e-mail the intake
gave up on, through the real SMTP endpoint and the real job, is listed for administrators only,
with its reason in French; « Relancer le traitement » puts it back on the job path and it
becomes a case."""

# ruff: noqa: F811 - fixtures imported from other test modules are used as parameters

from __future__ import annotations

import html

from factories import World
from flask import Flask
from flask.testing import FlaskClient
from helpers import assert_refused_to_each, csrf_token, run_jobs
from sqlalchemy import update
from test_mailbox import email, email_cases, endpoint, mailbox, rows, send  # noqa: F401

from jobs import mailbox as mailbox_jobs
from models import Case, InboundStatus, Mailbox, Topic, db

URL = "/referentiel/courriels-en-echec/"


def _failed_for_good(app: Flask, port: int, box: Mailbox) -> int:
    """An e-mail that cannot become a case (no topic on the box, none active) at its last
    attempt: the job marks it failed."""
    box.topic = None
    db.session.execute(update(Topic).values(active=False))
    db.session.commit()
    send(port, email("claire.martin@example.fr", subject="Mon avis de taxe foncière"))
    [row] = rows()
    row.attempts = mailbox_jobs.MAX_ATTEMPTS - 1
    db.session.commit()
    run_jobs(app)
    [row] = rows()
    assert row.status is InboundStatus.FAILED and row.attempts == mailbox_jobs.MAX_ATTEMPTS
    return row.id


def test_a_failed_email_is_listed_in_french_and_retried_into_a_case(
    app: Flask, world: World, mailbox: Mailbox, endpoint: int, admin_client: FlaskClient
) -> None:
    inbound_id = _failed_for_good(app, endpoint, mailbox)
    page = html.unescape(admin_client.get(URL).get_data(as_text=True))
    assert "Courriels en échec" in page
    assert "claire.martin@example.fr" in page  # read from the kept message
    assert "Mon avis de taxe foncière" in page
    assert mailbox.address in page and world.office_a.name in page
    assert "Aucun motif de demande n'est actif pour cette boîte" in page
    assert "<dd>12</dd>" in page  # the attempts
    assert "Relancer le traitement" in page

    # The administrator reactivates the topic, then retries.
    db.session.execute(update(Topic).values(active=True))
    db.session.commit()
    token = csrf_token(admin_client, URL)
    response = admin_client.post(
        f"{URL}{inbound_id}/relancer", data={"csrf_token": token}, follow_redirects=True
    )
    page = html.unescape(response.get_data(as_text=True))
    assert "Le traitement du courriel de claire.martin@example.fr est relancé" in page
    assert "Aucun courriel en échec." in page
    # A second click (double submit) queues nothing more.
    again = admin_client.post(
        f"{URL}{inbound_id}/relancer", data={"csrf_token": token}, follow_redirects=True
    )
    assert "n'est plus en échec" in html.unescape(again.get_data(as_text=True))

    run_jobs(app)
    [case] = email_cases()
    assert case.subject == "Mon avis de taxe foncière" and case.office_id == world.office_a.id
    [row] = rows()
    assert row.status is InboundStatus.DONE and row.case_id == case.id and row.attempts == 1
    assert db.session.get(Case, case.id) is not None


def test_only_administrators_see_or_retry_failed_emails(
    app: Flask,
    world: World,
    mailbox: Mailbox,
    endpoint: int,
    clients_but_admin: dict[str, FlaskClient],
    admin_client: FlaskClient,
) -> None:
    inbound_id = _failed_for_good(app, endpoint, mailbox)
    assert admin_client.get(URL).status_code == 200
    token = csrf_token(admin_client, URL)
    assert_refused_to_each(
        clients_but_admin,
        URL,
        f"{URL}{inbound_id}/relancer",
        token,
        hidden="claire.martin@example.fr",
    )
    [row] = rows()
    assert row.status is InboundStatus.FAILED  # nobody but an administrator retried it


def test_retrying_an_unknown_email_is_a_404(world: World, admin_client: FlaskClient) -> None:
    token = csrf_token(admin_client, URL)
    assert admin_client.post(f"{URL}999999/relancer", data={"csrf_token": token}).status_code == 404
