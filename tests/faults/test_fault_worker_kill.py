"""A worker SIGKILLed in the middle of sending: sent again later, at most one duplicate, never none.

Real worker processes (``python -m jobs.worker`` through ``scripts/faults/run_worker.py``, which
only shortens the stale-lock delay from 5 minutes to 3 seconds and can pause right after the SMTP
server accepted a message) on the session's database and Redis, a real SMTP server.

What RQ 3 does with the job of a dead worker: it stays in the queue's StartedJobRegistry until its
execution's heartbeat expires; the worker's maintenance (every 10 minutes) then moves it to the
FailedJobRegistry as an ``AbandonedJobError``. RQ does not run it again (no ``Retry`` is set).
The outbox sweep is what sends the alert again: it re-queues every row whose lock is stale.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from factories import World, make_case
from faultkit import ControlledSmtp, Proc, app_env, report, start_worker, wait_until
from flask import Flask
from rq import Queue
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import select

from app.cases import operations
from app.platform.queue import get_redis
from models import Notification, NotificationStatus, db


def worker_env(app: Flask, smtp: ControlledSmtp, tmp_path: Path, **extra: str) -> dict[str, str]:
    return app_env(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=app.config["REDIS_URL"],
        queue=app.config["RQ_QUEUE"],
        mail_port=smtp.port,
        data_dir=tmp_path,
        OUTBOX_SWEEP_SECONDS="1",
        FAULTS_LOCK_STALE_SECONDS="3",
        **extra,
    )


def one_alert(world: World) -> tuple[int, str]:
    case = make_case(world.taxpayer_a, world.office_a)
    db.session.commit()
    operations.reply_to_case(agent=world.agent_a, case=case, body="Voici notre réponse.")
    db.session.commit()
    row = db.session.scalars(select(Notification).where(Notification.case_id == case.id)).one()
    return row.id, row.recipient


def status_of(notification_id: int) -> NotificationStatus:
    db.session.expire_all()
    row = db.session.get(Notification, notification_id)
    assert row is not None
    return row.status


def registries(app: Flask) -> tuple[StartedJobRegistry, FailedJobRegistry]:
    queue = Queue(app.config["RQ_QUEUE"], connection=get_redis())
    return StartedJobRegistry(queue=queue), FailedJobRegistry(queue=queue)


@pytest.mark.parametrize("moment", ["after SMTP accepted", "while SMTP receives"])
def test_a_worker_killed_mid_send_the_alert_goes_out_again(
    moment: str,
    world: World,
    app: Flask,
    fault_smtp: ControlledSmtp,
    fault_procs: list[Proc],
    tmp_path: Path,
) -> None:
    if moment == "after SMTP accepted":
        # The widest window: the server has the message, the row is not yet marked sent.
        env = worker_env(app, fault_smtp, tmp_path, FAULTS_PAUSE_AFTER_SEND="60")
    else:
        fault_smtp.handler.hold.set()  # the server keeps the DATA open until released
        env = worker_env(app, fault_smtp, tmp_path)
    with app.app_context():
        # Other tests' killed workers may have left jobs "started" in this queue, with the same
        # ids as ours (notification-1-0 of another fresh database): RQ's maintenance moves them
        # to "failed" first, as it would every 10 minutes.
        registries(app)[0].cleanup(timestamp=time.time() + 24 * 3600)
        before = set(registries(app)[0].get_job_ids())
    first = start_worker(f"worker-1-{uuid.uuid4().hex[:4]}", env, tmp_path)
    fault_procs.append(first)
    notification_id, recipient = one_alert(world)

    if moment == "after SMTP accepted":
        wait_until(lambda: "FAULTS sent" in first.output(), 30, "the first send")
        assert fault_smtp.count_for(recipient) == 1
    else:
        wait_until(fault_smtp.handler.holding.is_set, 30, "the SMTP DATA to start")
    first.kill()
    with app.app_context():
        started, failed = registries(app)
        stuck = sorted(set(started.get_job_ids()) - before)
    fault_smtp.handler.hold.clear()
    assert status_of(notification_id) is NotificationStatus.PENDING
    assert len(stuck) == 1, "the killed worker's job should be left as started"

    second = start_worker(
        f"worker-2-{uuid.uuid4().hex[:4]}", worker_env(app, fault_smtp, tmp_path), tmp_path
    )
    fault_procs.append(second)
    wait_until(
        lambda: status_of(notification_id) is NotificationStatus.SENT, 60, "the alert to be sent"
    )
    time.sleep(2.5)  # more sweeps go by: nothing more is sent
    delivered = fault_smtp.count_for(recipient)

    with app.app_context():
        # RQ's maintenance, as it runs every 10 minutes, once the heartbeat has expired.
        started.cleanup(timestamp=time.time() + 24 * 3600)
        assert not set(stuck) & set(started.get_job_ids())
        assert set(stuck) <= set(failed.get_job_ids())  # moved to failed, not run again by RQ
    row = db.session.get(Notification, notification_id)
    assert row is not None
    report(
        f"worker SIGKILLed {moment}",
        alerts_due=1,
        sent=1 if row.status is NotificationStatus.SENT else 0,
        delivered=delivered,
        duplicated=delivered - 1,
        attempts=row.attempts,
        same_message_id=len(set(fault_smtp.handler.message_ids_for(recipient))) == 1,
        rq_jobs_left_started=len(stuck),
    )
    expected = 2 if moment == "after SMTP accepted" else 1
    assert delivered == expected  # at most one duplicate, never none
    with app.app_context():
        from app.notifications.outbox import message_id_header

        header = message_id_header(row)
    # The duplicate is recognisable: both copies carry the row's one Message-ID.
    assert fault_smtp.handler.message_ids_for(recipient) == [header] * expected
    assert row.attempts == 2
