"""Transfers rolled up per office pair (app/steering/rollups.py, ``steering_transfer``).

The pairs read from the rollups must equal those counted here, in Python, from the transfer rows:
as written by each transfer's own transaction, after a rebuild, after a transfer made through
the operation, after a retention purge; over periods cut into years, months and days. And the
dashboard reads them, not the transfer table.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from factories import World, make_case, make_topic
from flask import Flask
from sqlalchemy import select
from test_rollups import windows

from app.cases import operations
from app.retention.operations import apply_retention
from app.steering import rollups
from models import Case, CaseStatus, Channel, Office, Transfer, db, utcnow
from models.steering import SteeringTransfer


def expected(start: date, end: date, offices: set[int]) -> list[tuple[int, int, int]]:
    """Per (from, to): the transfers made in [start, end) (UTC days) touching ``offices``."""
    db.session.expire_all()
    pairs: dict[tuple[int, int], int] = {}
    for transfer in db.session.scalars(select(Transfer)):
        day = transfer.created_at.date()
        touches = transfer.from_office_id in offices or transfer.to_office_id in offices
        if start <= day < end and touches:
            key = (transfer.from_office_id, transfer.to_office_id)
            pairs[key] = pairs.get(key, 0) + 1
    return sorted((a, b, n) for (a, b), n in pairs.items())


def from_rollups(start: date, end: date, offices: set[int]) -> list[tuple[int, int, int]]:
    chosen = select(Office.id).where(Office.id.in_(offices))
    return sorted(rollups.transfer_pairs(chosen, rollups.Window(start, end)))


@pytest.fixture
def transfers(world: World) -> list[Transfer]:
    """60 transfers over three years between offices A, B and C (their requests too)."""
    rng = random.Random(20261202)
    now = utcnow()
    offices = [world.office_a, world.office_b, world.office_c]
    topic = make_topic()
    made = []
    for number in range(60):
        at = now - timedelta(days=rng.uniform(0, 3 * 365), hours=rng.uniform(0, 24))
        source, target = rng.sample(offices, 2)
        case = Case(
            reference=f"26-TRF-{number:03d}",
            taxpayer=world.taxpayer_a,
            channel=Channel.ONLINE,
            topic=topic,
            office=target,
            status=CaseStatus.CLOSED,
            subject=f"Demande {number}",
            received_at=at - timedelta(days=1),
            last_activity_at=at,
            closed_at=at + timedelta(days=1),
        )
        transfer = Transfer(
            case=case, from_office=source, to_office=target, reason="Compétence", created_at=at
        )
        db.session.add_all([case, transfer])
        made.append(transfer)
    db.session.commit()
    return made


def test_pairs_equal_the_transfers_as_written_and_after_a_rebuild(
    app: Flask, transfers: list[Transfer], world: World
) -> None:
    today = utcnow().date()
    scopes = [
        {world.office_a.id},
        {world.office_a.id, world.office_b.id},
        {world.office_a.id, world.office_b.id, world.office_c.id},
    ]
    for start, end in windows(today):
        for scope in scopes:
            assert from_rollups(start, end, scope) == expected(start, end, scope)
    whole = expected(today - timedelta(days=4 * 366), today + timedelta(days=1), scopes[2])
    assert sum(n for *_pair, n in whole) == len(transfers)
    rollups.rebuild()
    db.session.commit()
    for start, end in windows(today):
        assert from_rollups(start, end, scopes[2]) == expected(start, end, scopes[2])


def test_a_rollup_row_is_one_pair_one_day_and_counts_by_hand(app: Flask, world: World) -> None:
    """Three transfers A → B on one day, one B → A the next: counted by hand."""
    day = datetime(2025, 3, 14, 23, 30, tzinfo=UTC)
    topic = make_topic()
    for number, (at, source, target) in enumerate(
        [
            (day, world.office_a, world.office_b),
            (day - timedelta(hours=23), world.office_a, world.office_b),
            (day - timedelta(hours=1), world.office_a, world.office_b),
            (day + timedelta(hours=1), world.office_b, world.office_a),  # 15 March, UTC
        ]
    ):
        case = Case(
            reference=f"26-HND-{number:03d}",
            taxpayer=world.taxpayer_a,
            channel=Channel.PHONE,
            topic=topic,
            office=target,
            subject="Demande",
            received_at=at,
            last_activity_at=at,
        )
        db.session.add_all(
            [
                case,
                Transfer(
                    case=case, from_office=source, to_office=target, reason="Motif", created_at=at
                ),
            ]
        )
    db.session.commit()
    a, b = world.office_a.id, world.office_b.id
    rows = {
        (r.grain, r.day, r.from_office_id, r.to_office_id): r.count
        for r in db.session.scalars(select(SteeringTransfer))
    }
    assert rows == {
        ("d", date(2025, 3, 14), a, b): 3,
        ("d", date(2025, 3, 15), b, a): 1,
        ("m", date(2025, 3, 1), a, b): 3,
        ("m", date(2025, 3, 1), b, a): 1,
        ("y", date(2025, 1, 1), a, b): 3,
        ("y", date(2025, 1, 1), b, a): 1,
    }
    assert from_rollups(date(2025, 3, 14), date(2025, 3, 15), {a}) == [(a, b, 3)]
    assert from_rollups(date(2025, 3, 15), date(2025, 4, 1), {a}) == [(b, a, 1)]
    assert from_rollups(date(2025, 1, 1), date(2026, 1, 1), {b}) == [(a, b, 3), (b, a, 1)]
    assert from_rollups(date(2025, 3, 16), date(2026, 1, 1), {a, b}) == []


def test_a_transfer_and_a_purge_move_the_pairs_at_once(
    app: Flask, transfers: list[Transfer], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = utcnow().date()
    start, end = today - timedelta(days=4 * 366), today + timedelta(days=1)
    everyone = {world.office_a.id, world.office_b.id, world.office_c.id}
    moving = make_case(world.taxpayer_a, world.office_a, status=CaseStatus.IN_PROGRESS)
    db.session.commit()
    operations.transfer_case(
        agent=world.agent_a, case=moving, to_office=world.office_c, reason="Compétence du SIE"
    )
    db.session.commit()
    assert from_rollups(start, end, everyone) == expected(start, end, everyone)
    assert (world.office_a.id, world.office_c.id) in {
        (a, b) for a, b, _n in from_rollups(today, end, everyone)
    }
    # Purge what is older than two years: their transfers leave the figures.
    # Only for this test: the app is shared by the whole session.
    monkeypatch.setitem(app.config, "RETENTION_ARCHIVE_YEARS", 1)
    monkeypatch.setitem(app.config, "RETENTION_PURGE_YEARS", 2)
    monkeypatch.setitem(app.config, "RETENTION_NOTES_YEARS", 2)
    report = apply_retention(commit=db.session.commit, progress=lambda _line: None)
    assert report.purged_cases > 0
    assert from_rollups(start, end, everyone) == expected(start, end, everyone)
    assert db.session.scalar(select(SteeringTransfer).where(SteeringTransfer.count == 0)) is None
