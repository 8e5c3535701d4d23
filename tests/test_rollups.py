"""The steering rollups (app/steering/rollups.py) against the cases themselves.

Figures read from the rollups must equal those computed here, in Python, from the cases: with
the changes still in the journal, once folded, after a rebuild; after operations (an answer, a
closing, a reopening, a transfer), a retention purge and an office moving in the tree; over
periods cut into years, months and days.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from factories import World, make_tax_matter, make_topic
from flask import Flask
from sqlalchemy import func, select

from app.cases import operations
from app.directory.operations import move_office
from app.retention.operations import apply_retention
from app.steering import rollups
from models import Case, CaseStatus, Channel, Office, Topic, db, utcnow
from models.steering import SteeringChange, SteeringCount, SteeringDuration

# --- the reference: figures computed in Python from the cases --------------------------------


def _hours(end: datetime | None, start: datetime) -> float | None:
    return None if end is None else (end - start).total_seconds() / 3600


@dataclass(frozen=True)
class Counted:
    """A case under a node: whether its volume counts there (the office that recorded it, or
    its office) and whether its handling does (the office holding it)."""

    case: Case
    volume: bool
    held: bool


def expected(cases: list[Counted], start: date, end: date) -> dict[str, object]:
    """Counts, shares and histogram percentiles of the cases received in [start, end)."""
    period = [c for c in cases if start <= c.case.received_at.date() < end]
    volume = [c.case for c in period if c.volume]
    chosen = [c.case for c in period if c.held]
    # A case withdrawn by the taxpayer was neither handled nor closed by the office.
    answered_at = [c.first_answer_at or (None if c.withdrawn_at else c.closed_at) for c in chosen]
    figures: dict[str, object] = {
        "received": len(volume),
        "answered": sum(c.first_answer_at is not None for c in chosen),
        "closed": sum(c.closed_at is not None and c.withdrawn_at is None for c in chosen),
        "on_time": sum(
            c.due_at is not None and a is not None and a <= c.due_at
            for c, a in zip(chosen, answered_at, strict=True)
        ),
        "late_answered": sum(
            c.due_at is not None and a is not None and a > c.due_at
            for c, a in zip(chosen, answered_at, strict=True)
        ),
        "withdrawn": sum(c.withdrawn_at is not None for c in chosen),
        "channel": _tally(c.channel.value for c in volume),
        "topic": _tally(str(c.topic_id) for c in volume),
        "tax_matter": _tally(str(c.tax_matter_id or "") for c in volume),
    }
    for measure, attribute in (("first_answer", "first_answer_at"), ("closing", "closed_at")):
        durations = [
            _hours(getattr(c, attribute), c.received_at)
            for c in chosen
            if not (measure == "closing" and c.withdrawn_at)
        ]
        figures[measure] = _histogram([d for d in durations if d is not None])
    return figures


def _tally(keys: object) -> dict[str, int]:
    result: dict[str, int] = {}
    for key in keys:  # type: ignore[attr-defined]
        result[key] = result.get(key, 0) + 1
    return result


def _histogram(hours: list[float]) -> list[tuple[int, int, float]]:
    buckets: dict[int, tuple[int, float]] = {}
    for value in hours:
        bucket = rollups.bucket_of(value)
        count, total = buckets.get(bucket, (0, 0.0))
        buckets[bucket] = (count + 1, total + value)
    return [(b, c, h) for b, (c, h) in sorted(buckets.items())]


def from_rollups(node: Office, start: date, end: date) -> dict[str, object]:
    window = rollups.Window(start, end)
    counts = rollups.counts([node.id], window)
    every = counts.get((node.id, rollups.ALL, ""), dict.fromkeys(rollups.COUNT_MEASURES, 0))
    figures: dict[str, object] = dict(every)
    for dimension in (rollups.CHANNEL, rollups.TOPIC, rollups.TAX_MATTER):
        figures[dimension] = {
            key: values["received"]
            for (node_id, of, key), values in counts.items()
            if of == dimension and values["received"]
        }
    hists = rollups.histograms([node.id], window)
    for measure in (rollups.FIRST_ANSWER, rollups.CLOSING):
        figures[measure] = [
            (b, c, pytest.approx(h)) for b, c, h in hists.get((node.id, measure), [])
        ]
    return figures


def all_cases() -> list[Case]:
    db.session.expire_all()
    return list(db.session.scalars(select(Case)))


def cases_under(office: Office) -> list[Counted]:
    counted = []
    for case in all_cases():
        origin = case.recording_office or case.office
        item = Counted(
            case,
            volume=origin.path.startswith(office.path),
            held=case.office.path.startswith(office.path),
        )
        if item.volume or item.held:
            counted.append(item)
    return counted


# --- a random dataset over three years --------------------------------------------------------


@pytest.fixture
def history(world: World) -> list[Case]:
    """80 cases over three years in offices A, B and C, every attribute drawn at random;
    contacts recorded by one office and held by another, and cases withdrawn unanswered."""
    rng = random.Random(20261126)
    more = random.Random(20261202)  # the draws of issue 16, apart: the others stay the same
    now = utcnow()
    topics = [make_topic("Question"), make_topic("Réclamation")]
    topics.append(make_topic("Avis", parent=topics[0]))
    matters = [make_tax_matter("Impôt sur le revenu"), make_tax_matter("TVA"), None]
    offices = [world.office_a, world.office_b, world.office_c]
    made = []
    for number in range(80):
        received = now - timedelta(days=rng.uniform(0, 3 * 365), hours=rng.uniform(0, 24))
        first = rng.choice([None, rng.uniform(0, 3), rng.uniform(0, 40), rng.uniform(0, 400)])
        closed = None if first is None or rng.random() < 0.3 else first + rng.uniform(0, 20)
        case = Case(
            reference=f"26-ROL-{number:03d}",
            taxpayer=world.taxpayer_a,
            office=rng.choice(offices),
            topic=rng.choice(topics),
            tax_matter=rng.choice(matters),
            channel=rng.choice(list(Channel)),
            status=CaseStatus.CLOSED if closed is not None else CaseStatus.IN_PROGRESS,
            subject=f"Demande {number}",
            received_at=received,
            last_activity_at=received,
            first_answer_at=received + timedelta(days=first) if first is not None else None,
            closed_at=received + timedelta(days=closed) if closed is not None else None,
            due_at=received + timedelta(days=rng.choice([2, 5, 30])) if number % 7 else None,
        )
        if case.channel is not Channel.ONLINE:
            case.recording_office = more.choice(offices)
        elif first is None and more.random() < 0.4:
            case.status = CaseStatus.CLOSED
            case.closed_at = case.withdrawn_at = received + timedelta(days=more.uniform(0, 9))
        db.session.add(case)
        made.append(case)
    db.session.commit()
    return made


def windows(today: date) -> list[tuple[date, date]]:
    """Periods that cut into days only, months and days, years, months and days."""
    return [
        (today - timedelta(days=6), today + timedelta(days=1)),
        (today - timedelta(days=89), today + timedelta(days=1)),
        (date(today.year - 2, 3, 17), date(today.year, 2, 9)),
        (date(today.year - 3, 1, 1), today + timedelta(days=1)),
        (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
        (date(today.year - 1, 6, 1), date(today.year - 1, 7, 1)),
    ]


def test_window_pieces_cover_every_day_once() -> None:
    rng = random.Random(7)
    for _ in range(300):
        start = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 1200))
        end = start + timedelta(days=rng.randrange(1, 1100))
        covered: list[date] = []
        for grain, low, high in rollups.Window(start, end).pieces():
            day = low
            while day < high:
                covered.append(day)
                if grain == "d":
                    day += timedelta(days=1)
                elif grain == "m":
                    assert day.day == 1
                    nxt = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
                    covered.extend(day + timedelta(days=n) for n in range(1, (nxt - day).days))
                    day = nxt
                else:
                    assert (day.month, day.day) == (1, 1)
                    nxt = date(day.year + 1, 1, 1)
                    covered.extend(day + timedelta(days=n) for n in range(1, (nxt - day).days))
                    day = nxt
        assert sorted(covered) == [start + timedelta(days=n) for n in range((end - start).days)]


def test_figures_equal_the_cases_from_journal_fold_and_rebuild(
    app: Flask, history: list[Case], world: World
) -> None:
    today = utcnow().date()
    nodes = [world.delegation, world.directorate, world.office_a, world.office_c]
    for stage in ("journal", "folded", "rebuilt"):
        if stage == "folded":
            assert rollups.fold() > 0
            db.session.commit()
            assert db.session.scalar(select(func.count()).select_from(SteeringChange)) == 0
        if stage == "rebuilt":
            rollups.rebuild()
            db.session.commit()
        for node in nodes:
            cases = cases_under(node)
            for start, end in windows(today):
                assert from_rollups(node, start, end) == expected(cases, start, end), (
                    stage,
                    node.name,
                    start,
                    end,
                )


def test_sql_buckets_match_the_python_definition(app: Flask, world: World) -> None:
    now = utcnow().replace(microsecond=0)
    topic = make_topic("Question")
    hours = [0, 0.5, 1, 47.99, 48, 51.9, 52, 239, 240, 263, 264, 1439, 1440, 1607, 8759, 8760, 9500]
    for number, value in enumerate(hours):
        received = now - timedelta(days=500)
        db.session.add(
            Case(
                reference=f"26-BKT-{number:03d}",
                taxpayer=world.taxpayer_a,
                office=world.office_a,
                topic=topic,
                channel=Channel.ONLINE,
                status=CaseStatus.IN_PROGRESS,
                subject="Durée",
                received_at=received,
                last_activity_at=received,
                first_answer_at=received + timedelta(hours=value),
            )
        )
    db.session.commit()
    rollups.rebuild()
    db.session.commit()
    stored = db.session.execute(
        select(SteeringDuration.bucket, SteeringDuration.count).where(
            SteeringDuration.node_id == world.office_a.id,
            SteeringDuration.grain == "y",
            SteeringDuration.measure == rollups.FIRST_ANSWER,
        )
    ).all()
    wanted: dict[int, int] = {}
    for value in hours:
        wanted[rollups.bucket_of(value)] = wanted.get(rollups.bucket_of(value), 0) + 1
    assert dict(stored) == wanted
    assert rollups.bucket_of(47.99) == 47 and rollups.bucket_of(51.9) == 48
    assert rollups.bucket_of(263) == 240 and rollups.bucket_of(9500) == 9480


def test_percentile_reads_each_bucket_as_its_mean() -> None:
    def percentile(days: list[float], fraction: float) -> float | None:
        return rollups.percentile(_histogram([d * 24 for d in days]), fraction)

    # Equal values per bucket: PostgreSQL's percentile_cont exactly.
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == pytest.approx(7.0)
    assert percentile([0.5, 1, 1, 3, 5], 0.5) == pytest.approx(1)
    assert percentile([0.5, 1, 1, 3, 5], 0.9) == pytest.approx(4.2)  # 3 + 0.6 × (5 − 3)
    assert percentile([0, 6], 0.5) == pytest.approx(3)
    # 2.05, 2.1 and 2.15 days share the 4-hour bucket from 48 h: read as their mean, 2.1.
    assert percentile([2.05, 2.1, 2.15], 0.5) == pytest.approx(2.1)
    assert percentile([2.05, 2.1, 2.15], 0.9) == pytest.approx(2.1)  # exact: 2.14, within 4 h


def test_operations_move_the_figures_at_once(app: Flask, history: list[Case], world: World) -> None:
    rollups.fold()
    db.session.commit()
    today = utcnow().date()
    start, end = today - timedelta(days=3 * 366), today + timedelta(days=1)
    open_a = db.session.scalars(
        select(Case)
        .where(Case.office_id == world.office_a.id, Case.first_answer_at.is_(None))
        .order_by(Case.id)
    ).first()
    assert open_a is not None
    operations.reply_to_case(agent=world.agent_a, case=open_a, body="Voici la réponse.")
    db.session.commit()
    closed_a = db.session.scalars(
        select(Case)
        .where(Case.office_id == world.office_a.id, Case.status == CaseStatus.CLOSED)
        .order_by(Case.id)
    ).first()
    assert closed_a is not None
    operations.reopen_case(agent=world.agent_a, case=closed_a)
    db.session.commit()
    moving = db.session.scalars(
        select(Case)
        .where(Case.office_id == world.office_a.id, Case.status != CaseStatus.CLOSED)
        .order_by(Case.id.desc())
    ).first()
    assert moving is not None
    operations.transfer_case(
        agent=world.agent_a, case=moving, to_office=world.office_c, reason="Compétence"
    )
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(SteeringChange)) >= 6
    for node in (world.office_a, world.office_c, world.directorate, world.delegation):
        assert from_rollups(node, start, end) == expected(cases_under(node), start, end)
    rollups.fold()
    db.session.commit()
    for node in (world.office_a, world.office_c, world.directorate, world.delegation):
        assert from_rollups(node, start, end) == expected(cases_under(node), start, end)


def test_a_retention_purge_and_an_office_move_keep_them_right(
    app: Flask, history: list[Case], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = utcnow().date()
    start, end = today - timedelta(days=3 * 366), today + timedelta(days=1)
    before = from_rollups(world.delegation, start, end)["received"]
    # Purge what is older than two years (the history goes back three).
    # Only for this test: the app is shared by the whole session.
    monkeypatch.setitem(app.config, "RETENTION_ARCHIVE_YEARS", 1)
    monkeypatch.setitem(app.config, "RETENTION_PURGE_YEARS", 2)
    monkeypatch.setitem(app.config, "RETENTION_NOTES_YEARS", 2)
    report = apply_retention(commit=db.session.commit, progress=lambda _line: None)
    assert report.purged_cases > 0
    assert from_rollups(world.delegation, start, end)["received"] == before - report.purged_cases
    assert from_rollups(world.delegation, start, end) == expected(
        cases_under(world.delegation), start, end
    )
    # Office C moves from the other directorate to the Rhône: its cases count there now
    # (its folded rows move; its journal is read with the new tree).
    rollups.fold()
    db.session.commit()
    late = db.session.scalars(select(Case).where(Case.office_id == world.office_c.id)).first()
    assert late is not None
    late.first_answer_at = late.received_at + timedelta(hours=5)  # a journal row pending
    db.session.commit()
    office_c = db.session.get(Office, world.office_c.id)
    rhone = db.session.get(Office, world.directorate.id)
    move_office(office_c, rhone)
    db.session.commit()
    for node in (world.directorate, world.other_directorate, world.delegation):
        node = db.session.get(Office, node.id)
        assert from_rollups(node, start, end) == expected(cases_under(node), start, end)
    assert from_rollups(world.other_directorate, start, end)["received"] == 0


def test_topics_count_under_their_parent_as_it_is_now(
    app: Flask, history: list[Case], world: World
) -> None:
    """The rollups keep the topic itself; a sub-topic moved under another parent counts there
    at once (no rebuild)."""
    rollups.fold()
    db.session.commit()
    counts = rollups.counts(
        [world.delegation.id], rollups.Window(date(2000, 1, 1), utcnow().date() + timedelta(1))
    )
    by_topic = {key: v["received"] for (_n, of, key), v in counts.items() if of == rollups.TOPIC}
    topics = {t.id: t for t in db.session.scalars(select(Topic))}
    assert sum(by_topic.values()) == len(cases_under(world.delegation))
    assert all(int(key) in topics for key in by_topic)
    assert db.session.scalar(select(func.count()).select_from(SteeringCount)) > 0
