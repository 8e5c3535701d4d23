"""The mailbox intake under faults: nothing the SMTP endpoint acknowledged is lost.

Real processes on the session's PostgreSQL and Redis: the endpoint (``flask econtacts
mailbox-server``) and workers (``python -m jobs.worker`` through ``scripts/faults/run_worker.py``,
which can pause after an e-mail was turned into a case and before the commit, and shortens the
stale-lock delay of the intake from 5 minutes to 3 seconds). E-mails are sent with smtplib.

- A worker SIGKILLed in the middle of processing: the e-mail's case was not committed, its row
  stays pending under a lock that goes stale, the sweep of another worker queues it again; every
  acknowledged e-mail ends as exactly one case.
- The endpoint SIGKILLed in the middle of a flood: every e-mail it answered 250 to is in the
  database and becomes a case; the others were never acknowledged (the relay keeps them).
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import threading
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from factories import World, make_topic
from faultkit import (
    PYTHON,
    Proc,
    _spawn,
    app_env,
    free_port,
    report,
    start_worker,
    wait_until,
)
from flask import Flask
from sqlalchemy import func, select

from models import Case, Channel, InboundEmail, InboundStatus, Mailbox, MailboxStatus, db

BOX = "sip.lyon3@dgfip.example"
PDF = (Path(__file__).resolve().parents[1] / "data" / "avis.pdf").read_bytes()


def env_for(app: Flask, tmp_path: Path, **extra: str) -> dict[str, str]:
    return app_env(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=app.config["REDIS_URL"],
        queue=app.config["RQ_QUEUE"],
        mail_port=free_port(),  # nothing listens: the automatic replies wait in the outbox
        data_dir=tmp_path,
        OUTBOX_SWEEP_SECONDS="1",
        FAULTS_INBOUND_LOCK_STALE_SECONDS="3",
        **extra,
    )


def start_endpoint(name: str, env: dict[str, str], logdir: Path) -> Proc:
    port = free_port()
    args = [PYTHON, "-m", "flask", "econtacts", "mailbox-server", "--port", str(port)]
    proc = Proc(name, _spawn(name, args, {**env, "FLASK_APP": "app:create_app"}, logdir),
                logdir / f"{name}.log", port)  # fmt: skip

    def ready() -> bool:
        assert proc.alive(), proc.output()[-3000:]
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return True
        return False

    wait_until(ready, 60, f"mailbox endpoint {name}")
    return proc


def one_email(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"expediteur{n}@example.fr"
    message["To"] = BOX
    message["Subject"] = f"Courriel {n}"
    message["Message-ID"] = make_msgid(idstring=f"faute{n}", domain="example.fr")
    message.set_content(f"Bonjour, voici le courriel {n}.")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="avis.pdf")
    return message


def send(port: int, message: EmailMessage) -> bool:
    """True when the endpoint answered 250 (acknowledged)."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
            client.send_message(message, to_addrs=[BOX])
        return True
    except (smtplib.SMTPException, OSError):
        return False


@pytest.fixture
def mailbox(world: World) -> Mailbox:
    box = Mailbox(
        address=BOX,
        office=world.office_a,
        status=MailboxStatus.OPEN,
        topic=make_topic(),
        auto_reply_enabled=True,
        received_count=0,
        closed_count=0,
    )
    db.session.add(box)
    db.session.commit()
    return box


def cases_by_message_id() -> dict[str, int]:
    db.session.expire_all()
    rows = db.session.execute(
        select(InboundEmail.message_id, func.count(Case.id))
        .join(Case, Case.id == InboundEmail.case_id)
        .where(Case.channel == Channel.EMAIL)
        .group_by(InboundEmail.message_id)
    ).all()
    return dict(rows)  # type: ignore[arg-type]


def test_a_worker_killed_mid_processing_loses_no_acknowledged_email(
    app: Flask, world: World, mailbox: Mailbox, fault_procs: list[Proc], tmp_path: Path
) -> None:
    env = env_for(app, tmp_path)
    endpoint = start_endpoint(f"endpoint-{uuid.uuid4().hex[:4]}", env, tmp_path)
    fault_procs.append(endpoint)
    first = start_worker(
        f"worker-1-{uuid.uuid4().hex[:4]}",
        {**env, "FAULTS_PAUSE_IN_INBOUND": "60"},
        tmp_path,
    )
    fault_procs.append(first)
    messages = [one_email(n) for n in range(10)]
    acknowledged = [m["Message-ID"] for m in messages if send(int(endpoint.port or 0), m)]
    assert len(acknowledged) == 10
    wait_until(lambda: "FAULTS inbound" in first.output(), 60, "the first e-mail's processing")
    first.kill()  # SIGKILL, with a case built and not committed
    assert cases_by_message_id() == {}
    db.session.expire_all()
    locked = db.session.scalar(
        select(func.count()).where(
            InboundEmail.status == InboundStatus.PENDING, InboundEmail.locked_at.is_not(None)
        )
    )
    assert locked == 1

    second = start_worker(f"worker-2-{uuid.uuid4().hex[:4]}", env, tmp_path)
    fault_procs.append(second)

    def all_done() -> bool:
        db.session.expire_all()
        return (
            db.session.scalar(select(func.count()).where(InboundEmail.status != InboundStatus.DONE))
            == 0
        )

    wait_until(all_done, 90, "every accepted e-mail to be processed")
    found = cases_by_message_id()
    attempts = db.session.scalar(select(func.max(InboundEmail.attempts)))
    report(
        "worker SIGKILLed while processing an e-mail",
        acknowledged=len(acknowledged),
        cases=sum(found.values()),
        duplicated=sum(count - 1 for count in found.values()),
        lost=len(set(acknowledged) - set(found)),
        most_attempts=attempts,
    )
    assert sorted(found) == sorted(acknowledged)
    assert set(found.values()) == {1}
    assert attempts == 2


def test_the_endpoint_killed_mid_flood_kept_every_email_it_acknowledged(
    app: Flask, world: World, mailbox: Mailbox, fault_procs: list[Proc], tmp_path: Path
) -> None:
    env = env_for(app, tmp_path)
    endpoint = start_endpoint(f"endpoint-{uuid.uuid4().hex[:4]}", env, tmp_path)
    fault_procs.append(endpoint)
    port = int(endpoint.port or 0)
    acknowledged: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def flood(start: int) -> None:
        n = start
        while not stop.is_set() and n < start + 400:
            message = one_email(n)
            ok = send(port, message)
            with lock:
                (acknowledged if ok else refused).append(message["Message-ID"])
            n += 1

    threads = [threading.Thread(target=flood, args=(k * 1000,)) for k in range(3)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acknowledged) >= 15, 60, "some e-mails to be acknowledged")
    endpoint.kill()
    stop.set()
    for thread in threads:
        thread.join(30)
    worker = start_worker(f"worker-{uuid.uuid4().hex[:4]}", env, tmp_path)
    fault_procs.append(worker)

    def all_done() -> bool:
        db.session.expire_all()
        return (
            db.session.scalar(
                select(func.count()).where(InboundEmail.status == InboundStatus.PENDING)
            )
            == 0
        )

    wait_until(all_done, 120, "every accepted e-mail to be processed")
    found = cases_by_message_id()
    report(
        "mailbox endpoint SIGKILLed during a flood",
        acknowledged=len(acknowledged),
        refused_or_cut=len(refused),
        cases=sum(found.values()),
        lost=len(set(acknowledged) - set(found)),
        stored_not_acknowledged=len(set(found) - set(acknowledged)),
    )
    assert set(acknowledged) <= set(found)  # nothing acknowledged is lost
    assert set(found.values()) == {1}
