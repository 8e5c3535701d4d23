"""Redis restarted empty under load, with two app servers and two workers (issue 18).

``test_fault_redis.py`` covers one submission and one worker; here the whole system runs: two
gunicorn servers and two RQ workers share our own redis-server (no persistence), taxpayers submit
and agents answer, and midway Redis is SIGKILLed and started again empty: every queued job, every
rate-limit counter, every presence mark is gone. Counted: every acknowledged request and answer in
the database, every alert due delivered (the outbox's sweep queues again what Redis lost),
duplicates, what the users saw while Redis was down, both workers alive afterwards.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from faultkit import (
    ControlledSmtp,
    PrivateRedis,
    Proc,
    app_env,
    background,
    report,
    seed,
    start_gunicorn,
    start_worker,
    wait_until,
)
from faultload import Load, check_database, resolver
from flask import Flask
from sqlalchemy import func, select

from models import Notification, NotificationStatus, db

SUBMISSIONS = 60
UNAVAILABLE = "Le service est momentanément indisponible. Réessayez dans quelques instants."


def test_redis_restarted_empty_under_two_servers_and_two_workers(
    app: Flask,
    app_context: None,
    private_redis: PrivateRedis,
    fault_smtp: ControlledSmtp,
    fault_procs: list[Proc],
    tmp_path: Path,
) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("several machines share a PostgreSQL (make faults)")
    if not private_redis.answers():
        private_redis.start()
    seeded = seed(taxpayers=30)
    env = app_env(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=private_redis.url,
        queue=app.config["RQ_QUEUE"] + "-restart",
        mail_port=fault_smtp.port,
        data_dir=tmp_path,
        OUTBOX_SWEEP_SECONDS="1",
    )
    fault_smtp.handler.delay = 0.05
    with ThreadPoolExecutor(4) as pool:
        booting = [pool.submit(start_gunicorn, f"web-r{n}", env, tmp_path, 1) for n in (1, 2)]
        booting += [pool.submit(start_worker, f"worker-r{n}", env, tmp_path) for n in (1, 2)]
        web, workers = [f.result() for f in booting[:2]], [f.result() for f in booting[2:]]
    fault_procs.extend(web + workers)
    load = Load(web, seeded, max_submissions=SUBMISSIONS)

    with (
        background(load.submitter, 3) as submitters,
        background(lambda: load.replier(resolver(app)), 2),
    ):
        wait_until(lambda: len(load.replies.of("ack")) >= 10, 120, "10 answers before")
        private_redis.kill()
        down_at = len(load.submissions.outcomes), len(load.replies.outcomes)
        time.sleep(2.0)
        private_redis.start()  # back, empty
        restarted = time.monotonic()
        for thread in submitters:
            thread.join(120)
        wait_until(lambda: len(load.replies.of("ack")) >= 30, 60, "30 answers")
        load.stop.set()

    def outbox_drained() -> bool:
        db.session.expire_all()
        return not db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.status != NotificationStatus.SENT
            )
        )

    wait_until(outbox_drained, 90, "every alert to be sent after the restart")
    drained_after = time.monotonic() - restarted
    time.sleep(2)  # more sweeps: nothing more may go out
    found = check_database(load, tmp_path / "attachments")
    alerts = db.session.scalars(select(Notification)).all()
    with fault_smtp.handler.lock:
        ids = [str(m["Message-ID"]) for m in fault_smtp.handler.messages]
    delivered = {int(m.group(1)) for i in ids if (m := re.search(r"<alerte-(\d+)\.", i))}
    outcomes = load.submissions.outcomes + load.replies.outcomes
    unavailable = [o for o in outcomes if o.status == 503]
    others = [o for o in outcomes if o.kind == "refused" and o.status != 503]
    report(
        "Redis restarted empty under two servers and two workers",
        requests_sent=len(load.submissions.outcomes),
        requests_acknowledged=found.acknowledged,
        requests_found_complete=found.found_complete,
        answers_sent=len(load.replies.outcomes),
        answers_acknowledged=found.replies_acknowledged,
        answers_found=found.replies_found,
        killed_after=down_at,
        alerts_due=len(alerts),
        alerts_sent=sum(1 for n in alerts if n.status is NotificationStatus.SENT),
        emails_received=len(ids),
        duplicates=len(ids) - len(set(ids)),
        seconds_to_drain_after_restart=round(drained_after, 1),
        answered_503_french=len(unavailable),
        other_errors=len(others),
        no_answer=len([o for o in outcomes if o.kind == "no-answer"]),
        workers_alive=sum(w.alive() for w in workers),
    )
    assert {n.id for n in alerts} <= delivered, "an alert was never delivered"
    assert all(w.alive() for w in workers), [w.output()[-2000:] for w in workers]
    assert all(s.alive() for s in web)
    assert found.found_complete == found.acknowledged
    assert found.half_written == [] and found.missing_files == []
    assert found.replies_found == found.replies_acknowledged >= 30
    assert found.replies_without_alert == 0
    assert all(n.status is NotificationStatus.SENT for n in alerts)
    assert len(ids) - len(set(ids)) <= 1
    assert all(UNAVAILABLE in o.text for o in unavailable)
    assert others == [], [(o.status, o.text[:300]) for o in others]
    assert load.submissions.with_traceback() == [] and load.replies.with_traceback() == []
