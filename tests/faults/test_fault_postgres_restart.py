"""PostgreSQL stopped and started again under load (our own cluster, never the shared one).

While it is down, the app answers the French "service momentanément indisponible" page (503);
once it is back, the same app server, never restarted, reconnects by itself (``pool_pre_ping``)
and acknowledges cases again; nothing acknowledged is lost.
"""

from __future__ import annotations

import time
from pathlib import Path

from faultkit import (
    PrivateDatabase,
    Proc,
    app_env,
    background,
    report,
    seed,
    start_gunicorn,
    wait_until,
)
from faultload import Load, check_database
from flask import Flask

UNAVAILABLE = "Le service est momentanément indisponible. Réessayez dans quelques instants."


def test_postgres_restarted_under_load(
    private_postgres: PrivateDatabase,
    app: Flask,
    fault_procs: list[Proc],
    tmp_path: Path,
) -> None:
    pg_app = private_postgres.app
    with pg_app.app_context():
        seeded = seed(taxpayers=6)
    env = app_env(
        database_url=private_postgres.url,
        redis_url=app.config["REDIS_URL"],
        queue=app.config["RQ_QUEUE"],
        mail_port=1,
        data_dir=tmp_path,
    )
    server = start_gunicorn("web-pg", env, tmp_path, workers=2)
    fault_procs.append(server)
    load = Load([server], seeded)

    with background(load.submitter, 4):
        wait_until(lambda: len(load.submissions.of("ack")) >= 10, 60, "10 acknowledged cases")
        before = len(load.submissions.outcomes)
        private_postgres.server.stop("fast")  # every connection of the app is cut
        wait_until(
            lambda: any(o.status == 503 for o in load.submissions.outcomes[before:]),
            30,
            "a 503 while the database is down",
        )
        time.sleep(1.0)
        private_postgres.server.start()
        restarted = len(load.submissions.outcomes)
        wait_until(
            lambda: (
                len([o for o in load.submissions.outcomes[restarted:] if o.kind == "ack"]) >= 10
            ),
            60,
            "10 acknowledged cases after the restart",
        )
        load.stop.set()

    with pg_app.app_context():
        found = check_database(load, tmp_path / "attachments")
    after = load.submissions.outcomes[restarted:]
    unavailable = [o for o in load.submissions.outcomes if o.status == 503]
    others = [o for o in load.submissions.of("refused") if o.status != 503]
    report(
        "PostgreSQL restarted under load",
        cases_sent=len(load.submissions.outcomes),
        acknowledged=found.acknowledged,
        found_complete=found.found_complete,
        answered_503=len(unavailable),
        other_errors=len(others),
        no_answer=len(load.submissions.of("no-answer")),
        acknowledged_after_restart=len([o for o in after if o.kind == "ack"]),
        half_written=len(found.half_written),
        orphan_files=found.orphan_files,
    )
    assert server.alive(), "the app server must not die with the database"
    assert unavailable and all(UNAVAILABLE in o.text for o in unavailable)
    assert any(o.kind == "ack" for o in after)
    assert load.submissions.with_traceback() == []
    assert found.found_complete == found.acknowledged >= 20
    assert found.half_written == [] and found.missing_files == []
    assert others == [], [(o.status, o.text[:200]) for o in others]
