"""Issue 21 in the fast suite: error pages without the database, the outbox's guarantees,
undeliverable addresses, orphan files, the worker's heartbeat and ``flask econtacts status``.

The fault tests (``tests/faults/``) do the same with real servers stopped and killed; these tests
break things in-process (a statement listener that fails, an SMTP answer raised by a stub).
"""

from __future__ import annotations

import io
import os
import smtplib
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from factories import World, make_case, make_topic
from flask import Flask
from flask.testing import FlaskClient
from helpers import database_down, run_jobs
from rq import Queue
from rq.timeouts import JobTimeoutException
from sqlalchemy import select, update

import jobs.notifications as notifications
from app.cases import operations
from app.extensions import mail
from app.notifications.outbox import message_id_header, outbox_status
from app.platform.queue import get_redis
from models import Notification, NotificationStatus, Taxpayer, WorkerHeartbeat, db, utcnow

UNAVAILABLE = "Le service est momentanément indisponible. Réessayez dans quelques instants."
PDF = Path(__file__).parent / "data" / "avis.pdf"
UNDELIVERABLE = "Votre adresse ne reçoit pas nos courriels"


def one_alert(world: World) -> Notification:
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    operations.reply_to_case(agent=world.agent_a, case=case, body="Voici notre réponse.")
    db.session.commit()
    return db.session.scalars(select(Notification).where(Notification.case_id == case.id)).one()


def reload(row: Notification) -> Notification:
    db.session.expire_all()
    fresh = db.session.get(Notification, row.id)
    assert fresh is not None
    return fresh


# --- 1. error pages that need no database ----------------------------------------------------


@pytest.mark.parametrize(
    ("who", "paths"),
    [
        ("taxpayer", ["/espace/", "/espace/demandes/nouvelle", "/espace/compte"]),
        ("agent", ["/agent/demandes/", "/agent/", "/agent/recherche/"]),
        ("anonymous", ["/", "/espace/connexion", "/login/"]),
    ],
)
def test_every_page_is_the_french_503_while_the_database_is_down(
    who: str,
    paths: list[str],
    app: Flask,
    world: World,
    taxpayer_client: FlaskClient,
    agent_a_client: FlaskClient,
    anonymous_client: FlaskClient,
) -> None:
    client = {"taxpayer": taxpayer_client, "agent": agent_a_client}.get(who, anonymous_client)
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    if who == "agent":
        paths = [*paths, f"/agent/demandes/{case.id}"]
    with database_down(app):
        for path in paths:
            response = client.get(path)
            text = response.get_data(as_text=True)
            if response.status_code in (301, 302, 308):
                continue  # a redirect decided before any query
            if who == "anonymous" and response.status_code == 200:
                continue  # a page that needs no database (the home page, the login forms)
            assert response.status_code == 503, (path, response.status_code, text[:300])
            assert UNAVAILABLE in text and "Traceback" not in text
            assert '<html lang="fr"' in text and "dsfr.min.css" in text
    assert client.get(paths[0]).status_code in (200, 302)  # and back once it answers


def test_a_redis_failure_under_a_page_is_the_french_503(
    app: Flask, world: World, agent_a_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from views.agent import home

    def down(*args: Any, **kwargs: Any) -> Any:
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(home.access, "handles_cases", down)
    response = agent_a_client.get("/agent/")
    assert response.status_code == 503
    assert UNAVAILABLE in response.get_data(as_text=True)


# --- 3. the outbox's guarantees --------------------------------------------------------------


def test_each_alert_has_one_message_id_for_all_its_attempts(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = one_alert(world)
    seen: list[str] = []
    real_send = mail.send

    def flaky(message: Any) -> None:
        seen.append(message.msgId)
        if len(seen) == 1:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        real_send(message)

    monkeypatch.setattr(notifications.mail, "send", flaky)
    assert notifications.send_notification(row.id) == "retry"
    db.session.execute(update(Notification).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert notifications.send_notification(row.id) == "sent"
    assert seen[0] == seen[1] == message_id_header(reload(row))
    assert seen[0].startswith(f"<alerte-{row.id}.") and seen[0].endswith("@e-contacts.localhost>")


def test_mark_sent_is_retried_until_the_database_answers(
    app: Flask, world: World, smtp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = one_alert(world)
    monkeypatch.setattr(notifications, "MARK_SENT_PAUSE_MAX", 0.05)
    real_send = mail.send
    outage: dict[str, Any] = {}

    def send_then_database_blinks(message: Any) -> None:
        real_send(message)
        outage["cm"] = database_down(app, statements=3)
        outage["failed"] = outage["cm"].__enter__()

    monkeypatch.setattr(notifications.mail, "send", send_then_database_blinks)
    try:
        assert notifications.send_notification(row.id) == "sent"
    finally:
        outage["cm"].__exit__(None, None, None)
    assert len(outage["failed"]) == 3  # three failed tries of "mark sent", then it answered
    fresh = reload(row)
    assert fresh.status is NotificationStatus.SENT and fresh.attempts == 1
    assert len(smtp_server.messages) == 1


def test_a_job_timeout_during_smtp_releases_the_row_at_once(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = one_alert(world)

    def hung(message: Any) -> None:
        raise JobTimeoutException("Task exceeded maximum timeout value (60 seconds)")

    monkeypatch.setattr(notifications.mail, "send", hung)
    assert notifications.send_notification(row.id) == "retry"
    fresh = reload(row)
    assert fresh.status is NotificationStatus.PENDING and fresh.locked_at is None
    assert fresh.attempts == 1 and "JobTimeoutException" in (fresh.last_error or "")
    assert fresh.next_attempt_at > utcnow()


def test_smtp_connections_have_a_timeout_shorter_than_the_job(app: Flask) -> None:
    from app.extensions import TimedConnection
    from app.platform.queue import JOB_TIMEOUT

    with app.app_context():
        connection = mail.connect()
        assert isinstance(connection, TimedConnection)
        with connection as open_connection:
            assert open_connection.host is not None
            assert open_connection.host.timeout == app.config["MAIL_TIMEOUT"] < JOB_TIMEOUT


def test_the_sweep_never_queues_a_row_already_queued(app: Flask, world: World) -> None:
    rows = [one_alert(world) for _ in range(3)]  # each queued after its commit
    queue = Queue(app.config["RQ_QUEUE"], connection=get_redis())
    assert queue.count == 3
    assert notifications.sweep_outbox() == 0  # all three already wait in the queue
    assert notifications.sweep_outbox() == 0
    queue.empty()  # Redis lost them
    assert notifications.sweep_outbox() == 3
    assert notifications.sweep_outbox() == 0
    assert queue.count == 3
    # A row whose lock went stale (its worker died) is queued again even if RQ still shows the
    # dead worker's job.
    db.session.execute(
        update(Notification)
        .where(Notification.id == rows[0].id)
        .values(locked_at=utcnow() - notifications.LOCK_STALE_AFTER - timedelta(seconds=1))
    )
    db.session.commit()
    assert notifications.sweep_outbox() == 1
    run_jobs(app)
    assert {reload(r).status for r in rows} == {NotificationStatus.SENT}


# --- 4. failed alerts and undeliverable addresses ---------------------------------------------


def refuse(code: int, text: bytes) -> Any:
    def send(message: Any) -> None:
        raise smtplib.SMTPRecipientsRefused({message.recipients[0]: (code, text)})

    return send


def test_a_5xx_marks_the_address_undeliverable_and_everyone_sees_it(
    app: Flask,
    world: World,
    taxpayer_client: FlaskClient,
    agent_a_client: FlaskClient,
    admin_client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    row = one_alert(world)
    monkeypatch.setattr(notifications.mail, "send", refuse(550, b"5.1.1 unknown user"))
    assert notifications.send_notification(row.id) == "failed"
    db.session.expire_all()
    taxpayer = db.session.get(Taxpayer, world.taxpayer_a.id)
    assert taxpayer is not None and taxpayer.email_undeliverable_at is not None
    assert "550" in (taxpayer.email_undeliverable_reason or "")

    page = taxpayer_client.get("/espace/").get_data(as_text=True)
    assert UNDELIVERABLE in page and "/espace/compte#changer-adresse" in page
    sheet = agent_a_client.get(f"/agent/usagers/{taxpayer.id}/synthese?reason=appel")
    assert "Adresse injoignable depuis le" in sheet.get_data(as_text=True)
    home = admin_client.get("/agent/").get_data(as_text=True)
    assert "1 alerte en échec" in home and "1 adresse d'usager injoignable" in home
    outbox = admin_client.get("/referentiel/alertes-en-echec/").get_data(as_text=True)
    assert "1 adresse d'usager injoignable" in outbox


def test_a_new_address_clears_the_mark(app: Flask, world: World) -> None:
    from app.taxpayers import operations as taxpayer_operations

    taxpayer = world.taxpayer_a
    taxpayer.email_undeliverable_at = utcnow()
    taxpayer.email_undeliverable_reason = "550"
    db.session.commit()
    taxpayer_operations.request_email_change(taxpayer, "nouvelle@example.fr")
    db.session.commit()
    change = db.session.scalars(
        select(Notification).where(Notification.recipient == "nouvelle@example.fr")
    ).one()
    token = change.body.split("/espace/compte/courriel/")[1].split()[0]
    assert taxpayer_operations.confirm_email_change(token) is not None
    db.session.commit()
    assert taxpayer.email == "nouvelle@example.fr" and taxpayer.email_undeliverable_at is None


def test_4xx_and_unreachable_smtp_are_retried_for_days_not_hours(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    deferred, unreachable = one_alert(world), one_alert(world)
    waits = [notifications.backoff(n).total_seconds() for n in range(1, 40)]
    assert waits[:3] == [30, 60, 120] and max(waits) == 4 * 3600
    assert sum(waits[:30]) > 3 * 24 * 3600  # thirty attempts span days

    monkeypatch.setattr(notifications.mail, "send", refuse(451, b"4.3.0 try again later"))
    assert notifications.send_notification(deferred.id) == "retry"
    monkeypatch.setattr(
        notifications.mail, "send", lambda m: (_ for _ in ()).throw(ConnectionRefusedError())
    )
    assert notifications.send_notification(unreachable.id) == "retry"
    # Five days later: both given up; only the address the server deferred is marked.
    db.session.execute(
        update(Notification).values(
            created_at=utcnow() - timedelta(days=5, seconds=1),
            next_attempt_at=utcnow() - timedelta(seconds=1),
        )
    )
    db.session.commit()
    assert notifications.send_notification(unreachable.id) == "failed"
    db.session.expire_all()
    assert db.session.get(Taxpayer, world.taxpayer_a.id).email_undeliverable_at is None  # type: ignore[union-attr]
    monkeypatch.setattr(notifications.mail, "send", refuse(451, b"4.3.0 try again later"))
    assert notifications.send_notification(deferred.id) == "failed"
    db.session.expire_all()
    assert db.session.get(Taxpayer, world.taxpayer_a.id).email_undeliverable_at is not None  # type: ignore[union-attr]


def test_a_bounce_names_its_alert_by_message_id(app: Flask, world: World) -> None:
    row = one_alert(world)
    run_jobs(app)
    header = message_id_header(reload(row))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["econtacts", "bounce", header, "--reason", "5.2.2 mailbox full"])
    assert result.exit_code == 0, result.output
    assert "marked failed (bounce)" in result.output
    db.session.expire_all()
    assert reload(row).status is NotificationStatus.FAILED
    assert db.session.get(Taxpayer, world.taxpayer_a.id).email_undeliverable_at is not None  # type: ignore[union-attr]
    assert runner.invoke(args=["econtacts", "bounce", "<alerte-999.1@x>"]).exit_code == 1


# --- 2. the worker's heartbeat and `flask econtacts status` -----------------------------------


def test_status_reads_the_heartbeats_and_the_outbox(app: Flask, world: World) -> None:
    from jobs.worker import WorkerState, write_heartbeat

    runner = app.test_cli_runner()
    one_alert(world)
    result = runner.invoke(args=["econtacts", "status"])
    assert result.exit_code == 1 and "Workers alive: 0" in result.output  # no worker yet
    state = WorkerState(name="web-1:4242", sweep_seconds=30, redis_ok=False, sent_directly=3)
    write_heartbeat(state)
    result = runner.invoke(args=["econtacts", "status"])
    assert result.exit_code == 0, result.output
    assert "Redis: answers" in result.output and "Workers alive: 1" in result.output
    assert "web-1:4242: alive, redis-down" in result.output
    assert "sent without Redis 3" in result.output
    assert "Outbox: 1 pending (1 due now), 0 failed" in result.output
    db.session.execute(update(WorkerHeartbeat).values(beat_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    result = runner.invoke(args=["econtacts", "status"])
    assert result.exit_code == 1 and "SILENT" in result.output
    assert outbox_status().live_workers == []


def test_the_sweep_sends_directly_while_redis_is_down(
    app: Flask, world: World, smtp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs import worker

    rows = [one_alert(world) for _ in range(2)]
    Queue(app.config["RQ_QUEUE"], connection=get_redis()).empty()  # Redis lost them
    monkeypatch.setattr(worker, "_redis_answers", lambda: False)
    state = worker.WorkerState(name="w:1", sweep_seconds=1)
    worker.sweep_once(state)
    assert state.sent_directly == 2 and not state.redis_ok
    assert {reload(r).status for r in rows} == {NotificationStatus.SENT}
    assert len(smtp_server.messages) == 2
    beat = db.session.get(WorkerHeartbeat, "w:1")
    assert beat is not None and beat.state == "redis-down" and beat.sent_directly == 2


# --- 5. orphan attachment files ---------------------------------------------------------------


def test_orphan_files_older_than_the_delay_are_removed_and_counted(
    app: Flask, world: World
) -> None:
    from app.cases.attachments import IncomingFile, path_of

    case = operations.submit_case(
        taxpayer=world.taxpayer_a,
        topic=make_topic(),
        tax_matter=None,
        tax_year=None,
        subject="Avec pièce",
        body="Bonjour.",
        files=[IncomingFile("avis.pdf", io.BytesIO(PDF.read_bytes()))],
    )
    db.session.commit()
    kept = path_of(case.messages[0].attachments[0].storage_key)
    root = Path(app.config["ATTACHMENT_DIR"])
    old, young = "a" * 32, "b" * 32
    for key in (old, young):
        target = root / key[:2] / key[2:4] / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"orphan")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(root / old[:2] / old[2:4] / old, (two_days_ago, two_days_ago))
    os.utime(kept, (two_days_ago, two_days_ago))
    (root / "README").write_text("not ours")

    runner = app.test_cli_runner()
    dry = runner.invoke(args=["econtacts", "orphans", "--dry-run"])
    assert "Dry run, nothing removed: 3 file(s) scanned, 1 orphan(s) removed" in dry.output
    assert (root / old[:2] / old[2:4] / old).exists()
    result = runner.invoke(args=["econtacts", "orphans"])
    assert result.exit_code == 0, result.output
    assert "3 file(s) scanned, 1 orphan(s) removed, 1 recent orphan(s) kept" in result.output
    assert not (root / old[:2] / old[2:4] / old).exists()
    assert kept.exists() and (root / young[:2] / young[2:4] / young).exists()
    assert (root / "README").exists()

    from jobs.storage import remove_orphans

    assert remove_orphans().startswith("2 file(s) scanned, 0 orphan(s) removed")


def test_a_connection_lost_when_the_request_ends_does_not_spoil_the_page(
    app: Flask, world: World, taxpayer_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    real_remove = db.session.remove

    def lost(*args: Any) -> None:
        real_remove()
        raise OperationalError("ROLLBACK", {}, Exception("server closed the connection"))

    monkeypatch.setattr(db.session, "remove", lost)
    response = taxpayer_client.get("/espace/")
    assert response.status_code == 200 and world.taxpayer_a.display_name in response.get_data(
        as_text=True
    )


def test_a_job_started_by_a_worker_killed_before_its_claim_is_queued_again(
    app: Flask, world: World
) -> None:
    from rq.job import Job, JobStatus

    from app.notifications.outbox import send_job_id

    row = one_alert(world)  # queued after its commit; a worker takes it and dies at once
    job = Job.fetch(send_job_id(row.id, 0), connection=get_redis())
    Queue(app.config["RQ_QUEUE"], connection=get_redis()).remove(job)
    job.set_status(JobStatus.STARTED)
    assert reload(row).locked_at is None  # it never claimed the row
    assert notifications.sweep_outbox() == 1
    run_jobs(app)
    assert reload(row).status is NotificationStatus.SENT


def test_a_job_taken_off_the_queue_by_a_worker_killed_at_once_is_queued_again(
    app: Flask, world: World
) -> None:
    """RQ moves a job to its intermediate list when a worker takes it; the worker dies before
    marking it started: the job still says "queued" but nothing runs it for ten minutes."""
    from rq.job import Job, JobStatus

    from app.notifications.outbox import send_job_id

    row = one_alert(world)
    queue = Queue(app.config["RQ_QUEUE"], connection=get_redis())
    job_id = send_job_id(row.id, 0)
    assert get_redis().lmove(queue.key, queue.intermediate_queue.key) == job_id.encode()
    assert Job.fetch(job_id, connection=get_redis()).get_status() is JobStatus.QUEUED
    assert queue.count == 0
    # The first sweep that sees it there leaves it (a live worker may be starting it)...
    assert notifications.sweep_outbox() == 0
    assert queue.count == 0
    # ...the next one, finding it still there, queues the alert again.
    assert notifications.sweep_outbox() == 1
    assert queue.count == 1
    run_jobs(app)
    assert reload(row).status is NotificationStatus.SENT
