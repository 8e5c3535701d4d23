"""Backup and restore, as docs/operations.md describes it: ``pg_dump -Fc`` of a database with
cases, a copy of the attachment store, ``pg_restore`` into a new database; every row and every
file is there, and the app runs on the restored copy."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from pathlib import Path

from factories import make_agent
from faultkit import PrivateDatabase, pdf_bytes, report, seed
from flask import Flask
from sqlalchemy import func, select, text

from app import create_app
from app.cases import operations
from app.cases.attachments import IncomingFile
from models import Attachment, Case, Event, Message, Notification, Taxpayer, Topic, db

TABLES = (Case, Message, Attachment, Event, Notification)


def counts() -> dict[str, int]:
    return {
        t.__tablename__: int(db.session.scalar(select(func.count()).select_from(t))) for t in TABLES
    }


def test_pg_dump_and_restore_with_attachments(
    private_postgres: PrivateDatabase, tmp_path: Path
) -> None:
    source = private_postgres.app
    store = Path(source.config["ATTACHMENT_DIR"])
    with source.app_context():
        seeded = seed(taxpayers=3)
        created: list[int] = []  # the private database may hold other fault tests' rows too
        for number, taxpayer_id in enumerate(seeded.taxpayer_ids):
            taxpayer = db.session.get(Taxpayer, taxpayer_id)
            assert taxpayer is not None
            case = operations.submit_case(
                taxpayer=taxpayer,
                topic=db.session.get(Topic, seeded.topic_id),
                tax_matter=None,
                tax_year=None,
                subject=f"Demande {number}",
                body="Bonjour, voici mon avis.",
                files=[IncomingFile("avis.pdf", io.BytesIO(pdf_bytes(20_000 + number)))],
            )
            db.session.commit()
            created.append(case.id)
            agent = make_agent(case.office, "agent")  # an agent of the competent office
            operations.reply_to_case(agent=agent, case=case, body="Voici notre réponse.")
            db.session.commit()
        before = counts()
        db.session.remove()

    # 1. Back up: the database, then the attachment store (files are never rewritten in place).
    server = private_postgres.server
    dump = tmp_path / "econtacts.dump"
    connection = ["-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres"]
    subprocess.run(
        ["pg_dump", *connection, "-Fc", "-f", str(dump), private_postgres.name], check=True
    )
    copy = tmp_path / "attachments-backup"
    shutil.copytree(store, copy)

    # 2. Restore into a new database and a new store.
    restored = f"econtacts_faults_restored_{tmp_path.name[-6:].replace('-', '_').lower()}"
    server.psql(f"DROP DATABASE IF EXISTS {restored}")
    server.psql(f"CREATE DATABASE {restored}")
    subprocess.run(
        ["pg_restore", *connection, "--no-owner", "--exit-on-error", "-d", restored, str(dump)],
        check=True,
    )
    target: Flask = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": server.url(restored),
            "DATA_DIR": str(tmp_path / "data"),
            "ATTACHMENT_DIR": str(copy),
            "REDIS_URL": source.config["REDIS_URL"],
        }
    )
    with target.app_context():
        after = counts()
        missing = []
        ours = (
            select(Attachment)
            .join(Message, Attachment.message_id == Message.id)
            .where(Message.case_id.in_(created))
        )
        checked = 0
        for attachment in db.session.scalars(ours):
            checked += 1
            key = attachment.storage_key
            path = copy / key[:2] / key[2:4] / key
            if (
                not path.is_file()
                or hashlib.sha256(path.read_bytes()).hexdigest() != attachment.sha256
            ):
                missing.append(key)
        migrated = db.session.scalar(text("SELECT count(*) FROM alembic_version"))
        db.session.remove()  # its connection back to the pool, then the pool closed
        db.engine.dispose()
    server.psql(f"DROP DATABASE {restored} WITH (FORCE)")
    report(
        "pg_dump + restore",
        rows_before=sum(before.values()),
        rows_restored=sum(after.values()),
        attachments=after["attachment"],
        files_missing=len(missing),
    )
    assert after == before and before["case"] >= 3 and before["attachment"] >= 3
    assert checked == len(created) and missing == []
    assert migrated == 1
