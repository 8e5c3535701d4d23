"""SMTP down for a while, an address refused for good, an address that never accepts.

Alerts are written by the real operation (an agent's answer), queued after commit, and sent by
the real RQ worker class through a real SMTP server (aiosmtpd) that the test stops and restarts.
"Time passes" is simulated by moving ``next_attempt_at`` into the past: the backoff itself is
read from the rows.
"""

from __future__ import annotations

from datetime import timedelta

from factories import World, make_case, make_taxpayer
from faultkit import ControlledSmtp, report
from flask import Flask
from helpers import run_jobs
from sqlalchemy import select, update

from app.cases import operations
from jobs.notifications import sweep_outbox
from models import Notification, NotificationStatus, Taxpayer, db, utcnow


def answer_cases(world: World, count: int, emails: list[str] | None = None) -> list[str]:
    """``count`` agent answers, each to its own taxpayer: one alert per address."""
    addresses = []
    for index in range(count):
        email = emails[index] if emails else None
        taxpayer = make_taxpayer(**({"email": email} if email else {}))
        case = make_case(taxpayer, world.office_a)
        db.session.commit()
        operations.reply_to_case(agent=world.agent_a, case=case, body="Voici notre réponse.")
        db.session.commit()  # the send job is queued here, after commit
        addresses.append(str(taxpayer.email))
    return addresses


def rows() -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).order_by(Notification.id)))


def time_passes() -> None:
    """Every pending row's next attempt is due now (as if the backoff had elapsed)."""
    db.session.execute(
        update(Notification)
        .where(Notification.status == NotificationStatus.PENDING)
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def sweep(fault_app: Flask) -> int:
    with fault_app.app_context():
        return sweep_outbox()


def test_smtp_down_then_back_every_alert_goes_out_once(
    world: World, fault_app: Flask, fault_smtp: ControlledSmtp
) -> None:
    fault_smtp.down()
    addresses = answer_cases(world, 5)

    assert run_jobs(fault_app) == 5
    first = rows()
    assert [n.status for n in first] == [NotificationStatus.PENDING] * 5
    assert all(n.attempts == 1 and "Connection refused" in (n.last_error or "") for n in first)
    waits = [(n.next_attempt_at - utcnow()).total_seconds() for n in first]
    assert all(20 < wait <= 30 for wait in waits), waits  # first backoff: 30 s
    assert sweep(fault_app) == 0  # nothing is due before its backoff

    time_passes()
    assert sweep(fault_app) == 5
    run_jobs(fault_app)
    second = rows()
    assert all(n.attempts == 2 and n.status is NotificationStatus.PENDING for n in second)
    waits = [(n.next_attempt_at - utcnow()).total_seconds() for n in second]
    assert all(50 < wait <= 60 for wait in waits), waits  # then 60 s

    fault_smtp.up()
    time_passes()
    assert sweep(fault_app) == 5
    run_jobs(fault_app)
    final = rows()
    assert [n.status for n in final] == [NotificationStatus.SENT] * 5
    assert all(n.locked_at is None and n.last_error is None for n in final)
    assert sweep(fault_app) == 0
    run_jobs(fault_app)

    delivered = [fault_smtp.count_for(address) for address in addresses]
    report(
        "SMTP down then back",
        alerts_due=len(addresses),
        sent=sum(1 for n in final if n.status is NotificationStatus.SENT),
        delivered=sum(delivered),
        duplicated=sum(c - 1 for c in delivered if c > 1),
        attempts_each=final[0].attempts,
    )
    assert delivered == [1] * 5


def test_a_permanently_refused_address_fails_once_and_is_not_retried(
    world: World, fault_app: Flask, fault_smtp: ControlledSmtp
) -> None:
    fault_smtp.handler.refused.add("inconnu@example.fr")
    addresses = answer_cases(world, 3, emails=["inconnu@example.fr", None, None])  # type: ignore[list-item]

    run_jobs(fault_app)
    refused, *others = rows()
    assert refused.status is NotificationStatus.FAILED and refused.attempts == 1
    assert "550" in (refused.last_error or "")
    assert [n.status for n in others] == [NotificationStatus.SENT] * 2

    for _ in range(3):  # hours go by: the sweep never takes a failed row again
        time_passes()
        assert sweep(fault_app) == 0
        run_jobs(fault_app)
    refused = rows()[0]
    assert refused.status is NotificationStatus.FAILED and refused.attempts == 1
    report(
        "address refused for good (550)",
        alerts_due=3,
        sent=sum(fault_smtp.count_for(a) for a in addresses),
        failed=1,
        attempts_of_failed=refused.attempts,
    )
    assert fault_smtp.count_for("inconnu@example.fr") == 0
    refused_taxpayer = db.session.get(Taxpayer, refused.taxpayer_id)
    assert refused_taxpayer is not None and refused_taxpayer.email_undeliverable_at is not None
    assert [fault_smtp.count_for(a) for a in addresses[1:]] == [1, 1]


def test_an_address_that_always_defers_is_retried_for_days_then_marked_undeliverable(
    world: World, fault_app: Flask, fault_smtp: ControlledSmtp
) -> None:
    fault_smtp.handler.deferred.add("boite-pleine@example.fr")
    answer_cases(world, 1, emails=["boite-pleine@example.fr"])

    run_jobs(fault_app)
    waits = []
    for _ in range(6):  # six more attempts: still pending, each wait twice the last
        [row] = rows()
        assert row.status is NotificationStatus.PENDING
        waits.append(round((row.next_attempt_at - utcnow()).total_seconds()))
        time_passes()
        assert sweep(fault_app) == 1
        run_jobs(fault_app)
    # ...and so on for days (capped at 4 h between attempts): jump to the fifth day.
    db.session.execute(
        update(Notification).values(created_at=utcnow() - timedelta(days=5, seconds=1))
    )
    db.session.commit()
    time_passes()
    assert sweep(fault_app) == 1
    run_jobs(fault_app)
    [row] = rows()
    time_passes()
    assert sweep(fault_app) == 0
    taxpayer = db.session.get(Taxpayer, row.taxpayer_id)
    report(
        "address deferring for days (451)",
        attempts=row.attempts,
        waits_seconds=waits,
        status=row.status.value,
        address_marked_undeliverable=taxpayer is not None
        and taxpayer.email_undeliverable_at is not None,
    )
    assert all(abs(w - e) <= 2 for w, e in zip(waits, [30, 60, 120, 240, 480, 960], strict=True))
    assert row.status is NotificationStatus.FAILED and row.attempts == 8
    assert "451" in (row.last_error or "")
    assert taxpayer is not None and taxpayer.email_undeliverable_at is not None


def test_a_connection_dropped_after_the_server_accepted_is_not_sent_again(
    world: World, fault_app: Flask, fault_smtp: ControlledSmtp
) -> None:
    fault_smtp.handler.drop_at_quit = True
    addresses = answer_cases(world, 3)
    run_jobs(fault_app)
    time_passes()
    assert sweep(fault_app) == 0
    run_jobs(fault_app)
    final = rows()
    delivered = [fault_smtp.count_for(a) for a in addresses]
    report(
        "SMTP connection dropped at QUIT, after accepting",
        alerts_due=3,
        sent=sum(1 for n in final if n.status is NotificationStatus.SENT),
        delivered=sum(delivered),
        duplicated=sum(c - 1 for c in delivered if c > 1),
    )
    assert [n.status for n in final] == [NotificationStatus.SENT] * 3
    assert delivered == [1, 1, 1]
