"""An app server (gunicorn, master and workers) SIGKILLed under load.

Every case that received its reference is complete in the database (case, message,
attachment with its file, event; for answers, the message and its outbox row); nothing
half-written exists; every other client got a clean error page or no answer at all (the
connection dropped), never a traceback.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from faultkit import (
    Proc,
    app_env,
    background,
    report,
    run_cli,
    seed,
    start_gunicorn,
    wait_until,
)
from faultload import CLEAN_ERROR_TEXTS, Load, check_database, resolver
from flask import Flask


def test_an_app_server_killed_under_load_loses_nothing_acknowledged(
    app: Flask, app_context: None, fault_procs: list[Proc], tmp_path: Path
) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("several processes writing at once need PostgreSQL (make faults)")
    seeded = seed(taxpayers=10)
    env = app_env(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=app.config["REDIS_URL"],
        queue=app.config["RQ_QUEUE"],
        mail_port=1,  # no worker here: alerts stay in the outbox
        data_dir=tmp_path,
    )
    server = start_gunicorn("web-1", env, tmp_path, workers=2)
    fault_procs.append(server)
    load = Load([server], seeded)

    loaded = time.monotonic()
    with background(load.submitter, 6), background(lambda: load.replier(resolver(app)), 2):
        wait_until(lambda: len(load.submissions.of("ack")) >= 30, 60, "30 acknowledged cases")
        started = time.monotonic()
        server.kill()
        load.stop.set()  # the clients of a dead server give up; those in flight finish
    print(f"load: {started - loaded:.1f} s before the kill")

    found = check_database(load, tmp_path / "attachments")
    # The files of cases cut before their commit: kept while recent, removed once old enough.
    recent = run_cli(env, "orphans")
    cleaned = run_cli(env, "orphans", "--min-age-hours", "0")
    after_cleanup = check_database(load, tmp_path / "attachments")
    outcomes = load.submissions.outcomes + load.replies.outcomes
    refused = [o for o in outcomes if o.kind == "refused"]
    report(
        "app server SIGKILLed under load",
        cases_sent=len(load.submissions.outcomes),
        acknowledged=found.acknowledged,
        found_complete=found.found_complete,
        no_answer=len(load.submissions.of("no-answer")),
        clean_errors=len(refused),
        cases_in_db=found.cases_in_db,
        half_written=len(found.half_written),
        answers_acknowledged=found.replies_acknowledged,
        answers_found=found.replies_found,
        answers_without_alert_row=found.replies_without_alert,
        orphan_files=found.orphan_files,
        orphan_cleanup_at_24h=recent.stdout.strip(),
        orphan_cleanup_at_0h=cleaned.stdout.strip(),
        orphan_files_after_cleanup=after_cleanup.orphan_files,
    )
    assert found.acknowledged >= 30
    assert found.found_complete == found.acknowledged
    assert f"0 orphan(s) removed, {found.orphan_files} recent orphan(s) kept" in recent.stdout
    assert f"{found.orphan_files} orphan(s) removed" in cleaned.stdout, cleaned.stderr[-2000:]
    assert after_cleanup.orphan_files == 0 and after_cleanup.missing_files == []
    assert after_cleanup.found_complete == found.found_complete
    assert found.half_written == [] and found.missing_files == []
    assert found.replies_found == found.replies_acknowledged
    assert found.replies_without_alert == 0
    assert load.submissions.with_traceback() == [] and load.replies.with_traceback() == []
    assert all(any(t in o.text for t in CLEAN_ERROR_TEXTS) for o in refused), [
        o.text[:200] for o in refused
    ]
