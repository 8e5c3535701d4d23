"""Redis killed while the worker is in the middle of a job: the same worker process keeps going.

One real worker process (``python -m jobs.worker`` through ``scripts/faults/run_worker.py``) on
the session's database, our own redis-server and a real SMTP server. The SMTP server holds the
first alert's DATA; Redis is killed meanwhile; the SMTP server lets go. RQ's bookkeeping after
that job fails (Redis is gone) and RQ's ``Worker.work()`` gives up: the worker's supervising loop
must start a new one once Redis is back. Meanwhile more alerts are committed (their jobs cannot be
queued): the worker's sweep sends them straight from the database. Its heartbeat row says so, and
``flask econtacts status`` reads it. Once Redis is back, alerts go through RQ again.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from factories import World, make_case, make_taxpayer
from faultkit import (
    ControlledSmtp,
    PrivateRedis,
    Proc,
    app_env,
    report,
    run_cli,
    start_worker,
    wait_until,
)
from flask import Flask
from sqlalchemy import select

from app.cases import operations
from models import Agent, Case, Notification, NotificationStatus, WorkerHeartbeat, db


def alerts(fault_redis_app: Flask, world: World, count: int) -> list[int]:
    """``count`` agents' answers, each to its own taxpayer, committed in the app that uses our
    Redis (so each job is queued there after the commit, or not at all if it is down)."""
    case_ids = []
    for _ in range(count):
        case_ids.append(make_case(make_taxpayer(), world.office_a).id)
    db.session.commit()
    agent_id = world.agent_a.id
    with fault_redis_app.app_context():
        for case_id in case_ids:
            case = db.session.get(Case, case_id)
            agent = db.session.get(Agent, agent_id)
            assert case is not None and agent is not None
            operations.reply_to_case(agent=agent, case=case, body="Voici notre réponse.")
            db.session.commit()
        db.session.remove()
    db.session.expire_all()
    return list(
        db.session.scalars(select(Notification.id).where(Notification.case_id.in_(case_ids)))
    )


def statuses(ids: list[int]) -> list[NotificationStatus]:
    db.session.expire_all()
    return [
        n.status for n in db.session.scalars(select(Notification).where(Notification.id.in_(ids)))
    ]


def all_sent(ids: list[int]) -> bool:
    return statuses(ids) == [NotificationStatus.SENT] * len(ids)


def heartbeat() -> WorkerHeartbeat | None:
    db.session.expire_all()
    return db.session.scalars(
        select(WorkerHeartbeat).order_by(WorkerHeartbeat.beat_at.desc())
    ).first()


def test_redis_killed_mid_job_the_same_worker_sends_everything(
    world: World,
    app: Flask,
    fault_redis_app: Flask,
    private_redis: PrivateRedis,
    fault_smtp: ControlledSmtp,
    fault_procs: list[Proc],
    tmp_path: Path,
) -> None:
    env = app_env(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=private_redis.url,
        queue=fault_redis_app.config["RQ_QUEUE"],
        mail_port=fault_smtp.port,
        data_dir=tmp_path,
        OUTBOX_SWEEP_SECONDS="1",
    )
    worker = start_worker(f"worker-sup-{uuid.uuid4().hex[:4]}", env, tmp_path)
    fault_procs.append(worker)
    pid = worker.process.pid

    # 1. A job in progress (the SMTP server holds its DATA) when Redis dies.
    fault_smtp.handler.hold.set()
    first = alerts(fault_redis_app, world, 1)
    wait_until(fault_smtp.handler.holding.is_set, 30, "the first alert's DATA")
    private_redis.kill()
    fault_smtp.handler.hold.clear()
    wait_until(lambda: all_sent(first), 30, "the job in progress to finish")

    # 2. Redis down: more alerts committed; the worker's sweep sends them from the database.
    started = time.monotonic()
    during = alerts(fault_redis_app, world, 5)
    wait_until(lambda: all_sent(during), 60, "the alerts sent without Redis")
    sent_without_redis_in = time.monotonic() - started

    def says_down() -> bool:
        row = heartbeat()
        return row is not None and row.state == "redis-down" and row.sent_directly >= 5

    wait_until(says_down, 10, "the heartbeat to say Redis is down")
    beat = heartbeat()
    assert beat is not None
    down_state, down_direct = beat.state, beat.sent_directly
    status_down = run_cli(env, "status")

    # 3. Redis back: the same process runs RQ jobs again.
    private_redis.start()
    wait_until(lambda: "Redis answers again" in worker.output(), 60, "the RQ loop restarted")
    after = alerts(fault_redis_app, world, 3)
    wait_until(lambda: all_sent(after), 60, "the alerts sent through RQ again")
    wait_until(lambda: (heartbeat() or beat).state == "running", 10, "the heartbeat to say so")
    beat = heartbeat()
    assert beat is not None
    status_up = run_cli(env, "status")

    due = first + during + after
    rows = list(db.session.scalars(select(Notification).where(Notification.id.in_(due))))
    delivered = [fault_smtp.count_for(n.recipient) for n in rows]
    report(
        "Redis killed mid-job, one worker process throughout",
        alerts_due=len(due),
        sent=sum(1 for n in rows if n.status is NotificationStatus.SENT),
        delivered=sum(delivered),
        duplicated=sum(c - 1 for c in delivered if c > 1),
        sent_without_redis=down_direct,
        seconds_to_send_5_without_redis=round(sent_without_redis_in, 1),
        rq_loop_restarts=beat.restarts,
        heartbeat_while_down=down_state,
        same_process=worker.alive() and worker.process.pid == pid,
    )
    assert worker.alive(), worker.output()[-3000:]
    assert delivered == [1] * len(due)
    assert down_state == "redis-down" and down_direct >= 5
    assert beat.restarts >= 1 and beat.state == "running"
    assert status_down.returncode == 1 and "Redis: UNREACHABLE" in status_down.stdout
    assert "redis-down" in status_down.stdout, status_down.stdout + status_down.stderr
    assert status_up.returncode == 0, status_up.stdout + status_up.stderr
    assert "Workers alive: 1" in status_up.stdout
