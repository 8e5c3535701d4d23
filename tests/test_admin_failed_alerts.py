"""A permanently refused address: the alert is marked failed (not retried forever), shown to
administrators, and sent once they retry it after the cause is fixed. Real SMTP servers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from factories import World
from flask import Flask
from flask.testing import FlaskClient
from helpers import assert_refused_to_each, csrf_token, free_port, run_jobs

from app.directory import access
from app.notifications.outbox import queue_email
from models import Notification, NotificationKind, NotificationStatus, db

URL = "/referentiel/alertes-en-echec/"


class RefusingHandler:
    """An SMTP server for which every mailbox is unknown (550), as after a typo in an address."""

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


@pytest.fixture
def refusing_smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    controller = Controller(RefusingHandler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setattr(app.extensions["mail"], "port", controller.port)
    try:
        yield
    finally:
        controller.stop()


def test_refused_alert_is_failed_shown_and_retried(
    world: World,
    app: Flask,
    admin_client: FlaskClient,
    smtp_server: Any,
    refusing_smtp: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notification = queue_email(
        kind=NotificationKind.NEW_MESSAGE,
        recipient="inconnu@example.fr",
        subject="Un nouveau message vous attend",
        body="Connectez-vous à votre espace.",
        taxpayer=world.taxpayer_a,
    )
    db.session.commit()
    notification_id = notification.id
    run_jobs(app)
    db.session.expire_all()
    failed = db.session.get(Notification, notification_id)
    assert failed is not None and failed.status is NotificationStatus.FAILED
    assert failed.attempts == 1  # refused for good: not retried

    page = admin_client.get("/referentiel/alertes-en-echec/").get_data(as_text=True)
    assert "inconnu@example.fr" in page
    assert "Nouveau message" in page  # the kind's label
    assert "User unknown" in page  # the last error

    # The address is fixed on the mail side; the administrator retries.
    monkeypatch.setattr(app.extensions["mail"], "port", smtp_server.port)
    token = csrf_token(admin_client, "/referentiel/alertes-en-echec/")
    response = admin_client.post(
        f"/referentiel/alertes-en-echec/{notification_id}/relancer",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "est relancée" in page
    assert "Aucune alerte en échec." in page
    # A second click (double submit) changes nothing and queues nothing more.
    again = admin_client.post(
        f"/referentiel/alertes-en-echec/{notification_id}/relancer",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "n&#39;est plus en échec" in again.get_data(as_text=True)
    run_jobs(app)
    db.session.expire_all()
    sent = db.session.get(Notification, notification_id)
    assert sent is not None and sent.status is NotificationStatus.SENT
    assert [m["To"] for m in smtp_server.messages] == ["inconnu@example.fr"]


def test_retrying_an_unknown_alert_is_a_404(world: World, admin_client: FlaskClient) -> None:
    token = csrf_token(admin_client, "/referentiel/parametres/")
    response = admin_client.post(
        "/referentiel/alertes-en-echec/999999/relancer", data={"csrf_token": token}
    )
    assert response.status_code == 404


def _failed_alert() -> int:
    notification = queue_email(
        kind=NotificationKind.NEW_MESSAGE,
        recipient="inconnu@example.fr",
        subject="Un nouveau message vous attend",
        body="Connectez-vous à votre espace.",
    )
    notification.status = NotificationStatus.FAILED
    db.session.commit()
    return notification.id


def test_only_administrators_see_or_retry_failed_alerts(
    app: Flask,
    world: World,
    clients_but_admin: dict[str, FlaskClient],
    admin_client: FlaskClient,
) -> None:
    alert_id = _failed_alert()
    assert "inconnu@example.fr" in admin_client.get(URL).get_data(as_text=True)
    token = csrf_token(admin_client, URL)
    assert_refused_to_each(
        clients_but_admin, URL, f"{URL}{alert_id}/relancer", token, hidden="inconnu@example.fr"
    )
    db.session.expire_all()
    alert = db.session.get(Notification, alert_id)
    assert alert is not None and alert.status is NotificationStatus.FAILED  # nobody retried it


def test_the_screen_asks_the_access_rule(
    world: World, admin_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAB's permission is not the whole rule: the screen asks app.directory.access, and
    what it says goes (here it refuses even the administrator)."""
    alert_id = _failed_alert()
    token = csrf_token(admin_client, URL)
    monkeypatch.setattr(access, "may_handle_failed_alerts", lambda user: False)
    assert admin_client.get(URL).status_code == 404
    retry = admin_client.post(f"{URL}{alert_id}/relancer", data={"csrf_token": token})
    assert retry.status_code == 404
