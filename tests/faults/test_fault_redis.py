"""Redis down when a case is submitted and answered: both commit; the alert goes out once Redis
is back, through the worker's periodic sweep.

The Redis here is our own redis-server (no persistence): killing it loses every queued job, the
worst case. The database is the session's.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from factories import World, make_case, make_topic
from faultkit import ControlledSmtp, PrivateRedis, Proc, app_env, report, start_worker, wait_until
from flask import Flask
from helpers import run_jobs
from sqlalchemy import func, select

from app.cases import operations
from jobs.notifications import sweep_outbox
from models import (
    Agent,
    Case,
    Event,
    Message,
    Notification,
    NotificationStatus,
    Taxpayer,
    Topic,
    db,
)


def submit_and_answer(fault_redis_app: Flask, world: World) -> tuple[str, int]:
    """A taxpayer's submission and an agent's answer (with its alert), committed while Redis is
    down, in the app that uses that Redis. Returns the new reference and the answered case."""
    topic = make_topic()
    answered = make_case(world.taxpayer_b, world.office_a)
    db.session.commit()
    ids = (world.taxpayer_a.id, topic.id, world.agent_a.id, answered.id)
    with fault_redis_app.app_context():
        taxpayer, chosen = db.session.get(Taxpayer, ids[0]), db.session.get(Topic, ids[1])
        assert taxpayer is not None
        case = operations.submit_case(
            taxpayer=taxpayer,
            topic=chosen,
            tax_matter=None,
            tax_year=None,
            subject="Envoyée pendant la panne de Redis",
            body="Bonjour.",
            submission_token=uuid.uuid4().hex,
        )
        db.session.commit()
        reference = case.reference
        agent, other = db.session.get(Agent, ids[2]), db.session.get(Case, ids[3])
        assert agent is not None and other is not None
        operations.reply_to_case(agent=agent, case=other, body="Voici notre réponse.")
        db.session.commit()  # the after-commit enqueue fails: logged, not raised
        db.session.remove()
    return reference, ids[3]


def test_redis_down_at_submission_the_case_commits_and_the_sweep_sends_the_alert(
    world: World,
    fault_redis_app: Flask,
    private_redis: PrivateRedis,
    fault_smtp: ControlledSmtp,
) -> None:
    private_redis.kill()
    reference, answered_id = submit_and_answer(fault_redis_app, world)

    db.session.expire_all()
    case = db.session.scalar(select(Case).where(Case.reference == reference))
    assert case is not None and len(case.messages) == 1
    assert db.session.scalar(select(func.count(Event.id)).where(Event.case_id == case.id)) == 1
    [alert] = db.session.scalars(select(Notification).where(Notification.case_id == answered_id))
    assert alert.status is NotificationStatus.PENDING and alert.attempts == 0
    due = db.session.scalars(select(Notification)).all()  # every alert these actions owe

    private_redis.start()  # back, empty: the jobs are lost
    assert run_jobs(fault_redis_app) == 0
    with fault_redis_app.app_context():
        queued = sweep_outbox()
    run_jobs(fault_redis_app)
    with fault_redis_app.app_context():
        again = sweep_outbox()
    db.session.expire_all()
    sent = [n for n in db.session.scalars(select(Notification)) if n.status.name == "SENT"]
    delivered = [fault_smtp.count_for(n.recipient) for n in due]
    report(
        "Redis down at submission",
        cases_sent=1,
        acknowledged=1,
        found=1,
        alerts_due=len(due),
        swept=queued,
        sent=len(sent),
        delivered=sum(delivered),
        duplicated=sum(c - 1 for c in delivered if c > 1),
    )
    assert queued == len(due) and again == 0
    assert delivered == [1] * len(due)


def test_the_running_worker_recovers_by_itself_when_redis_comes_back(
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
    worker = start_worker("worker-redis", env, tmp_path)
    fault_procs.append(worker)

    private_redis.kill()
    _reference, answered_id = submit_and_answer(fault_redis_app, world)
    recipient = str(world.taxpayer_b.email)
    wait_until(lambda: "Outbox sweep failed" in worker.output() or not worker.alive(), 20,
               "the sweep to meet the outage")  # fmt: skip
    private_redis.start()

    def sent() -> bool:
        db.session.expire_all()
        row = db.session.scalars(
            select(Notification).where(Notification.case_id == answered_id)
        ).one()
        return row.status is NotificationStatus.SENT

    wait_until(sent, 60, "the worker to send the alert after Redis came back")
    delivered = fault_smtp.count_for(recipient)
    report(
        "worker running through a Redis outage",
        worker_survived=worker.alive(),
        alerts_due=1,
        delivered=delivered,
    )
    assert worker.alive(), worker.output()[-3000:]
    assert delivered == 1
    assert db.session.scalar(select(func.count(Message.id))) >= 2
