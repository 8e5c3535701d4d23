"""Several machines: two app servers and two workers on one PostgreSQL and one Redis.

A bounded load of submissions (with an attachment) and agents' answers (each with its e-mail
alert) goes through both servers; midway one server and one worker are SIGKILLed. A submission
that got no answer is sent again to the surviving server with the same form token, as a load
balancer would. Then every acknowledged case must be complete, and every alert of every
answer in the database delivered: at least once, at most twice.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from faultkit import (
    ControlledSmtp,
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

from models import Case, Notification, NotificationStatus, db, utcnow

SUBMISSIONS = 80


def test_two_servers_two_workers_one_of_each_killed_midway(
    app: Flask,
    app_context: None,
    fault_smtp: ControlledSmtp,
    fault_procs: list[Proc],
    tmp_path: Path,
) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("several machines share a PostgreSQL (make faults)")
    seeded = seed(taxpayers=40)
    env = app_env(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=app.config["REDIS_URL"],
        queue=app.config["RQ_QUEUE"],
        mail_port=fault_smtp.port,
        data_dir=tmp_path,  # the shared attachment storage of both servers
        OUTBOX_SWEEP_SECONDS="1",
        FAULTS_LOCK_STALE_SECONDS="4",
    )
    fault_smtp.handler.delay = 0.05  # a real SMTP server takes a moment: workers are busy
    with ThreadPoolExecutor(4) as pool:  # the four machines boot at once
        booting = [pool.submit(start_gunicorn, f"web-{n}", env, tmp_path, 1) for n in (1, 2)]
        booting += [pool.submit(start_worker, f"worker-{n}", env, tmp_path) for n in (1, 2)]
        web, workers = [f.result() for f in booting[:2]], [f.result() for f in booting[2:]]
    fault_procs.extend(web + workers)
    load = Load(web, seeded, retry_elsewhere=True, max_submissions=SUBMISSIONS)

    with (
        background(load.submitter, 4) as submitters,
        background(lambda: load.replier(resolver(app)), 2),
    ):
        wait_until(lambda: len(load.submissions.outcomes) >= SUBMISSIONS // 2, 120, "half the load")
        web[0].kill()
        workers[0].kill()
        killed_at = len(load.submissions.outcomes)
        for thread in submitters:
            thread.join(120)
        wait_until(lambda: len(load.replies.of("ack")) >= 40, 60, "40 answers")
        load.stop.set()

    def outbox_drained() -> bool:
        db.session.expire_all()
        return not db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.status == NotificationStatus.PENDING
            )
        )

    try:
        wait_until(outbox_drained, 90, "every alert to be sent")
    except AssertionError:
        explain_pending(workers)
        raise
    time.sleep(2)  # a few more sweeps: nothing more may go out
    found = check_database(load, tmp_path / "attachments")
    alerts = db.session.scalars(select(Notification)).all()
    per_address: Counter[str] = Counter(fault_smtp.handler.recipients)
    due: Counter[str] = Counter(n.recipient for n in alerts)
    delivered = {address: per_address[address] for address in due}
    duplicated = sum(max(0, delivered[a] - due[a]) for a in due)
    missing = sum(max(0, due[a] - delivered[a]) for a in due)
    twice_token = [t for t, refs in load.tokens.items() if len(set(refs)) > 1]
    cases = db.session.scalar(select(func.count(Case.id)))
    report(
        "two servers + two workers, one of each killed",
        cases_sent=len(load.submissions.outcomes),
        killed_after=killed_at,
        acknowledged=found.acknowledged,
        found_complete=found.found_complete,
        cases_in_db=cases,
        no_answer=len(load.submissions.of("no-answer")),
        half_written=len(found.half_written),
        answers_sent=len(load.replies.outcomes),
        answers_acknowledged=found.replies_acknowledged,
        answers_found=found.replies_found,
        alerts_due=len(alerts),
        alerts_sent=sum(1 for n in alerts if n.status is NotificationStatus.SENT),
        delivered=sum(delivered.values()),
        duplicated=duplicated,
        missing=missing,
        orphan_files=found.orphan_files,
    )
    assert web[1].alive()  # the survivor served the rest
    assert len(load.submissions.outcomes) == SUBMISSIONS
    assert (
        found.found_complete
        == found.acknowledged
        == SUBMISSIONS - len(load.submissions.of("no-answer"))
    )
    assert found.half_written == [] and found.missing_files == [] and twice_token == []
    assert found.replies_found == found.replies_acknowledged >= 40
    assert found.replies_without_alert == 0
    assert all(n.status is NotificationStatus.SENT for n in alerts)
    assert missing == 0, "an alert was never delivered"
    # At most one duplicate per alert, and only the killed worker's in-flight send can repeat.
    assert all(delivered[a] <= 2 * due[a] for a in due) and duplicated <= 1
    assert load.submissions.with_traceback() == [] and load.replies.with_traceback() == []


def explain_pending(workers: list[Proc]) -> None:
    """What holds the alerts that never went out: their rows, and the workers' last words."""
    rows = db.session.scalars(
        select(Notification).where(Notification.status == NotificationStatus.PENDING)
    ).all()
    now = utcnow()
    for n in rows:
        print(
            f"[faults] pending notification {n.id}: attempts {n.attempts}, "
            f"locked {n.locked_at and (now - n.locked_at).total_seconds():.1f} s ago, "
            f"due in {(n.next_attempt_at - now).total_seconds():.1f} s, error {n.last_error!r}"
        )
    for proc in workers:
        print(f"[faults] --- last lines of {proc.name} ---")
        print("\n".join(proc.log.read_text(errors="replace").splitlines()[-40:]))
