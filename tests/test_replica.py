"""The read replica of the steering figures (app/platform/replica.py, decision 0017).

- Without ``DATABASE_REPLICA_URL`` (both legs): everything reads from the primary, nothing said.
- A replica that does not answer (both legs): the dashboard and the exports read from the primary
  and say so in French, never a 500.
- A real streaming replica (PostgreSQL leg): a primary cluster of the test's own (``initdb`` on a
  free port), a hot standby made by ``pg_basebackup`` on another port; ``pg_stat_statements`` on
  both servers shows that the steering queries ran on the replica and not on the primary; the
  replica killed, the dashboard falls back to the primary.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import World, make_agent, make_case, make_office, make_taxpayer
from faults.faultkit import PG_BIN, PrivatePostgres, wait_until
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from helpers import free_port, sign_in_agent
from sqlalchemy import create_engine

from app import create_app
from app.platform import replica
from models import KindCode, db

FALLBACK = "ne répond pas : ces chiffres sont lus sur la base principale"
ON_REPLICA = "Chiffres lus sur la base de lecture du pilotage"


def test_without_a_replica_the_dashboard_reads_the_primary_and_says_nothing(
    app: Flask, steering_client: FlaskClient
) -> None:
    assert replica.replica_engine(app) is None
    response = steering_client.get("/pilotage/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="freshness"' not in page and "base de lecture" not in page


def test_a_replica_that_does_not_answer_makes_the_dashboard_read_the_primary(
    app: Flask, world: World, steering_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing")
    monkeypatch.setitem(app.extensions, replica.EXTENSION, replica._Replica(dead, 10))
    make_case(world.taxpayer_a, world.office_c)
    db.session.commit()
    response = steering_client.get("/pilotage/")
    export = steering_client.get("/pilotage/export/synthese.csv?periode=30j")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:500]
    assert FALLBACK in page
    assert export.status_code == 200
    dead.dispose()


# --- a real streaming replica ------------------------------------------------------------------

needs_postgres = pytest.mark.skipif(
    not (
        os.environ.get("DATABASE_URL", "").startswith("postgres") and (PG_BIN / "initdb").exists()
    ),
    reason="a real replica: PostgreSQL leg only (initdb, pg_basebackup)",
)
STATEMENTS = "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"


@pytest.fixture(scope="module")
def streaming_pair(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Flask, PrivatePostgres, PrivatePostgres]]:
    primary = PrivatePostgres(options=STATEMENTS)
    standby: PrivatePostgres | None = None
    try:
        primary.start()
        primary.psql("CREATE DATABASE econtacts_replica")
        primary.psql("CREATE EXTENSION pg_stat_statements", "econtacts_replica")
        standby = PrivatePostgres(options=STATEMENTS, primary=primary)
        standby.start()
        wait_until(lambda: standby.psql("SELECT pg_is_in_recovery()") == "t", 30, "the standby")
        data_dir: Path = tmp_path_factory.mktemp("replica_data")
        pair_app = create_app(
            {
                "TESTING": True,
                "ECONTACTS_ENV": "test",
                "DEMO_MODE": True,
                "STRICT_TEMPLATES": True,
                "SQLALCHEMY_DATABASE_URI": primary.url("econtacts_replica"),
                "DATABASE_REPLICA_URL": standby.url("econtacts_replica"),
                "REPLICA_RETRY_SECONDS": 0,
                "DATA_DIR": str(data_dir),
                "ATTACHMENT_DIR": str(data_dir / "attachments"),
                "MAIL_SUPPRESS_SEND": True,
                "RQ_QUEUE": f"replica-{uuid.uuid4().hex[:8]}",
                "SERVER_NAME": None,
            }
        )
        pair_app.test_client_class = type(  # each request in its own app context
            "Isolated", (FlaskClient,), {"open": _isolated_open}
        )
        with pair_app.app_context():
            upgrade()
            pair_app.appbuilder.sm.sync_roles()  # type: ignore[attr-defined]
            db.session.commit()
        yield pair_app, primary, standby
        with pair_app.app_context():
            db.engine.dispose()
            engine = replica.replica_engine(pair_app)
            if engine is not None:
                engine.dispose()
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()


def _isolated_open(self: FlaskClient, *args: object, **kwargs: object) -> object:
    with self.application.app_context():
        return FlaskClient.open(self, *args, **kwargs)  # type: ignore[arg-type]


def _steering_queries(server: PrivatePostgres) -> list[str]:
    """The statements of the steering figures that ran on ``server`` since the last reset."""
    rows = server.psql(
        "SELECT query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
        "WHERE d.datname = 'econtacts_replica' AND calls > 0 "
        "AND query ~ 'steering_(count|duration|change)'",
        "econtacts_replica",
    )
    return [row for row in rows.splitlines() if row]


@needs_postgres
def test_steering_reads_run_on_a_real_streaming_replica_and_fall_back_when_it_dies(
    streaming_pair: tuple[Flask, PrivatePostgres, PrivatePostgres],
) -> None:
    pair_app, primary, standby = streaming_pair
    with pair_app.app_context():
        delegation = make_office(KindCode.DELEGATION, name="Délégation Centre-Est")
        directorate = make_office(KindCode.DIRECTORATE, parent=delegation, name="DDFiP du Rhône")
        office = make_office(KindCode.SIP, parent=directorate, name="SIP Lyon 3e")
        pilot = make_agent(directorate, "steering")
        for _ in range(3):
            make_case(make_taxpayer(), office)
        db.session.commit()
        client = sign_in_agent(pair_app.test_client(), pilot)
        db.session.remove()
    # The standby has replayed everything written so far.
    lsn = primary.psql("SELECT pg_current_wal_lsn()")
    wait_until(
        lambda: standby.psql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn") == "t",
        30,
        "the standby to replay the test's rows",
    )
    for server in (primary, standby):
        server.psql("SELECT pg_stat_statements_reset()", "econtacts_replica")

    response = client.get("/pilotage/?periode=30j")
    page = response.get_data(as_text=True)
    export = client.get("/pilotage/export/synthese.csv?periode=30j")

    assert response.status_code == 200, page[:500]
    assert ON_REPLICA in page and "à jour" in page
    assert "SIP Lyon 3e" in page
    assert export.status_code == 200 and "SIP Lyon 3e" in export.get_data(as_text=True)
    on_standby, on_primary = _steering_queries(standby), _steering_queries(primary)
    assert on_standby, "no steering query ran on the replica"
    assert on_primary == [], on_primary
    # The replica's address, as the server sees it, for one query of the routed engine.
    engine = replica.replica_engine(pair_app)
    assert engine is not None
    with engine.connect() as connection:
        port = connection.exec_driver_sql("SELECT inet_server_port()").scalar()
    assert port == standby.port != primary.port

    standby.stop("immediate")
    response = client.get("/pilotage/?periode=30j")
    page = re.sub(r"\s+", " ", response.get_data(as_text=True)).replace("\u2019", "'")
    export = client.get("/pilotage/export/synthese.csv?periode=30j")
    assert response.status_code == 200, page[:500]
    assert FALLBACK in page
    assert "SIP Lyon 3e" in page
    assert export.status_code == 200
    assert _steering_queries(primary), "the fallback must read the primary"
