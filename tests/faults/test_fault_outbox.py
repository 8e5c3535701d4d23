"""The outbox's guarantees with a real worker process and real servers:

- PostgreSQL stopped right after the SMTP server accepted an alert (before "mark sent"): the
  worker keeps trying to record it and, once the database is back, records it: sent once.
- A hung SMTP server: each connection times out (``MAIL_TIMEOUT`` 2 s here, shorter than the
  60 s job) and releases its row at once; while the worker is stuck on it, the sweep (every
  second) never queues a row already queued: the queue never holds more jobs than rows due.

Duplicates from a worker killed inside the window are counted in test_fault_worker_kill.py.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from factories import World, make_case, make_taxpayer
from faultkit import (
    ControlledSmtp,
    PrivateDatabase,
    Proc,
    app_env,
    report,
    seed,
    start_worker,
    wait_until,
)
from flask import Flask
from rq import Queue
from rq.registry import StartedJobRegistry
from sqlalchemy import select, update

from app.cases import operations
from app.platform.queue import get_redis
from models import Agent, Notification, NotificationStatus, Office, Taxpayer, db, utcnow


def rows_of(ids: list[int]) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)
        )
    )


def test_postgres_stopped_after_smtp_accepted_the_alert_is_recorded_not_resent(
    private_postgres: PrivateDatabase,
    fault_smtp: ControlledSmtp,
    fault_procs: list[Proc],
    tmp_path: Path,
) -> None:
    pg_app = private_postgres.app
    with pg_app.app_context():
        seeded = seed(taxpayers=3, agents=1)
        agent = db.session.get(Agent, seeded.agent_ids[0])
        assert agent is not None
        ids = []
        for taxpayer_id in seeded.taxpayer_ids:
            taxpayer = db.session.get(Taxpayer, taxpayer_id)
            office = db.session.get(Office, seeded.office_id)
            assert taxpayer is not None and office is not None
            case = make_case(taxpayer, office)
            db.session.commit()
            operations.reply_to_case(agent=agent, case=case, body="Voici notre réponse.")
            db.session.commit()  # queued after commit; the worker is not started yet
            ids.append(
                db.session.scalars(
                    select(Notification.id).where(Notification.case_id == case.id)
                ).one()
            )
        recipients = [seeded.emails[t] for t in seeded.taxpayer_ids]
    env = app_env(
        database_url=private_postgres.url,
        redis_url=pg_app.config["REDIS_URL"],
        queue=pg_app.config["RQ_QUEUE"],
        mail_port=fault_smtp.port,
        data_dir=tmp_path,
        OUTBOX_SWEEP_SECONDS="1",
        FAULTS_PAUSE_AFTER_SEND="2",
    )
    worker = start_worker(f"worker-pg-{uuid.uuid4().hex[:4]}", env, tmp_path)
    fault_procs.append(worker)
    wait_until(lambda: "FAULTS sent" in worker.output(), 30, "the first alert accepted by SMTP")
    private_postgres.server.stop("fast")  # inside the window: sent, not yet marked sent
    time.sleep(6)
    private_postgres.server.start()

    def all_sent() -> bool:
        with pg_app.app_context():
            return [n.status for n in rows_of(ids)] == [NotificationStatus.SENT] * len(ids)

    wait_until(all_sent, 90, "every alert recorded as sent")
    time.sleep(2)  # more sweeps go by: nothing more is sent
    with pg_app.app_context():
        final = rows_of(ids)
        attempts = [n.attempts for n in final]
    delivered = [fault_smtp.count_for(r) for r in recipients]
    retried = worker.output().count("sent but not yet marked sent")
    report(
        "PostgreSQL stopped 6 s right after SMTP accepted",
        alerts_due=len(ids),
        sent=len(final),
        delivered=sum(delivered),
        duplicated=sum(c - 1 for c in delivered if c > 1),
        mark_sent_retries=retried,
        attempts=attempts,
    )
    assert worker.alive(), worker.output()[-3000:]
    assert delivered == [1] * len(ids)
    assert retried >= 1 and attempts[0] == 1


def test_a_hung_smtp_server_times_out_releases_the_row_and_is_not_queued_twice(
    world: World,
    app: Flask,
    fault_smtp: ControlledSmtp,
    fault_procs: list[Proc],
    tmp_path: Path,
) -> None:
    env = app_env(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=app.config["REDIS_URL"],
        queue=app.config["RQ_QUEUE"],
        mail_port=fault_smtp.port,
        data_dir=tmp_path,
        OUTBOX_SWEEP_SECONDS="1",
        MAIL_TIMEOUT="2",
    )
    fault_smtp.handler.hold.set()  # every DATA hangs
    ids, recipients = [], []
    for _ in range(4):
        taxpayer = make_taxpayer()
        case = make_case(taxpayer, world.office_a)
        db.session.commit()
        operations.reply_to_case(agent=world.agent_a, case=case, body="Voici notre réponse.")
        db.session.commit()
        recipients.append(str(taxpayer.email))
        ids.append(
            db.session.scalars(select(Notification.id).where(Notification.case_id == case.id)).one()
        )
    queue = Queue(app.config["RQ_QUEUE"], connection=get_redis())
    started = StartedJobRegistry(queue=queue)
    left_by_others = set(started.get_job_ids())  # dead workers of earlier tests

    def alert_jobs() -> int:
        ids_now = queue.get_job_ids() + [
            j for j in started.get_job_ids() if j not in left_by_others
        ]
        return sum(1 for j in ids_now if j.startswith("notification-"))

    worker = start_worker(f"worker-hung-{uuid.uuid4().hex[:4]}", env, tmp_path)
    fault_procs.append(worker)
    began = time.monotonic()
    most_jobs = [0]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            most_jobs[0] = max(most_jobs[0], alert_jobs())
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    def released(index: int) -> bool:
        row = rows_of(ids)[index]
        return row.attempts == 1 and row.locked_at is None

    wait_until(lambda: released(0), 30, "the first hung send to time out")
    first_released_after = time.monotonic() - began
    wait_until(lambda: all(released(i) for i in range(4)), 60, "every hung send to time out")
    first_round = rows_of(ids)
    waits = [(n.next_attempt_at - utcnow()).total_seconds() for n in first_round]
    errors = [n.last_error or "" for n in first_round]
    # Time passes: all four due again while the server still hangs; the sweep runs every
    # second while the worker is stuck 2 s on each.
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    wait_until(lambda: all(n.attempts == 2 for n in rows_of(ids)), 60, "a second round")
    fault_smtp.handler.hold.clear()
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    wait_until(
        lambda: [n.status for n in rows_of(ids)] == [NotificationStatus.SENT] * 4,
        60,
        "every alert sent once the server answers",
    )
    sampling.set()
    sampler.join(5)
    delivered = [fault_smtp.count_for(r) for r in recipients]
    report(
        "hung SMTP server (DATA never answered), MAIL_TIMEOUT 2 s, sweep every 1 s",
        alerts_due=4,
        first_row_released_after_s=round(first_released_after, 1),
        next_attempt_in_s=[round(w) for w in waits],
        most_rq_jobs_at_once=most_jobs[0],
        sent=4,
        delivered=sum(delivered),
        duplicated=sum(c - 1 for c in delivered if c > 1),
        attempts=[n.attempts for n in rows_of(ids)],
    )
    assert all("timed out" in e for e in errors), errors
    assert all(20 < w <= 30 for w in waits), waits  # released with its backoff, not locked
    assert most_jobs[0] <= 4, most_jobs[0]
    assert delivered == [1, 1, 1, 1]
    assert worker.alive(), worker.output()[-3000:]
