"""Retention: on cases spread over 12 years, exactly what the periods say goes, and nothing
else (app.retention.operations; periods 4 years archive, 10 years purge, 2 years for internal
notes)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from factories import World, make_case, make_topic
from flask import Flask
from sqlalchemy import func, select

from app.cases.attachments import path_of
from app.retention.operations import apply_retention
from models import (
    AccessLog,
    Attachment,
    AuthorKind,
    Case,
    CaseStatus,
    Event,
    EventKind,
    Message,
    Notification,
    NotificationKind,
    Transfer,
    db,
    utcnow,
)

YEAR = 365.25


@dataclass
class Built:
    case_id: int
    age_days: float
    closed: bool
    held: bool
    first_message_id: int
    notes: dict[int, float] = field(default_factory=dict)  # note id -> age in days
    public_ids: list[int] = field(default_factory=list)
    storage_keys: list[str] = field(default_factory=list)


def _attach(message: Message, name: str) -> str:
    key = secrets.token_hex(16)
    path = path_of(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 test\n")
    db.session.add(
        Attachment(
            message=message,
            filename=name,
            storage_key=key,
            content_type="application/pdf",
            size=14,
            sha256="0" * 64,
            created_at=message.created_at,
        )
    )
    return key


def _message(case: Case, at: datetime, *, internal: bool, body: str) -> Message:
    message = Message(
        case=case,
        author_kind=AuthorKind.AGENT if internal else AuthorKind.TAXPAYER,
        body=body,
        internal=internal,
        created_at=at,
    )
    db.session.add(message)
    db.session.flush()
    return message


def _build(world: World, now: datetime, age_days: float, *, closed: bool, held: bool) -> Built:
    topic = make_topic()
    start = now - timedelta(days=age_days + 40)
    case = make_case(world.taxpayer_a, world.office_a, topic=topic, subject=f"Âge {age_days:.0f} j")
    case.received_at = start
    case.legal_hold = held
    first = _message(case, start, internal=False, body="Ma demande")
    keys = [_attach(first, "avis.pdf")]
    built = Built(case.id, age_days, closed, held, first.id, public_ids=[first.id])
    # Notes along the case's life: 40 days before its end, then 1 day before.
    for offset in (30, 1):
        note_at = now - timedelta(days=age_days + offset)
        note = _message(case, note_at, internal=True, body="Note interne")
        keys.append(_attach(note, "note.pdf"))
        built.notes[note.id] = age_days + offset
    answer = _message(case, now - timedelta(days=age_days), internal=False, body="Réponse")
    built.public_ids.append(answer.id)
    built.storage_keys = keys
    case.status = CaseStatus.CLOSED if closed else CaseStatus.IN_PROGRESS
    case.closed_at = now - timedelta(days=age_days) if closed else None
    case.last_activity_at = now - timedelta(days=age_days)
    db.session.add(
        Transfer(
            case=case,
            from_office_id=world.office_b.id,
            to_office_id=world.office_a.id,
            reason="Compétence",
            created_at=start,
        )
    )
    db.session.add(
        Event(
            kind=EventKind.RECEIVED,
            case_id=case.id,
            taxpayer_id=world.taxpayer_a.id,
            office_id=world.office_a.id,
            created_at=start,
            data={},
        )
    )
    db.session.add(
        AccessLog(
            agent_id=world.agent_a.id,
            office_id=world.office_a.id,
            taxpayer_id=world.taxpayer_a.id,
            case_id=case.id,
            object_kind="case",
            object_id=case.id,
            reason="Consultation",
            created_at=start,
        )
    )
    db.session.add(
        Notification(
            kind=NotificationKind.NEW_MESSAGE,
            recipient="usager@example.fr",
            subject="Nouveau message",
            body="Lien",
            taxpayer_id=world.taxpayer_a.id,
            case_id=case.id,
            message_id=answer.id,
            created_at=start,
        )
    )
    db.session.flush()
    return built


def _dataset(world: World, now: datetime) -> list[Built]:
    built = []
    # Every 45 days over 12 years, closed; plus open, held, and cases on the boundaries.
    age = 10.0
    while age < 12 * YEAR:
        built.append(_build(world, now, age, closed=True, held=False))
        age += 45
    for years in (3, 5, 11, 11.9):
        built.append(_build(world, now, years * YEAR, closed=False, held=False))
        built.append(_build(world, now, years * YEAR, closed=True, held=True))
    for boundary in (2, 4, 10):
        for delta in (-2, +2):  # two days either side of each period
            built.append(
                _build(world, now, _years_days(now, boundary) + delta, closed=True, held=False)
            )
    db.session.commit()
    return built


def _years_days(now: datetime, years: int) -> float:
    return (now - now.replace(year=now.year - years)).total_seconds() / 86400


def test_retention_on_twelve_years_of_cases(app: Flask, world: World) -> None:
    now = utcnow()
    built = _dataset(world, now)
    purge_days, archive_days, notes_days = (_years_days(now, y) for y in (10, 4, 2))
    linked = _build(world, now, 1, closed=False, held=False)
    old = next(b for b in built if b.closed and not b.held and b.age_days > purge_days)
    db.session.get(Case, linked.case_id).linked_case_id = old.case_id  # type: ignore[union-attr]
    db.session.commit()
    built.append(linked)
    access_logs_before = db.session.scalar(select(func.count()).select_from(AccessLog))

    progress: list[str] = []
    report = apply_retention(
        now=now, commit=db.session.commit, progress=progress.append, batch_size=7
    )
    db.session.expire_all()

    expected_purged = [b for b in built if b.closed and not b.held and b.age_days > purge_days]
    expected_archived = [
        b for b in built if b.closed and not b.held and archive_days < b.age_days <= purge_days
    ]
    assert expected_purged and expected_archived
    assert report.purged_cases == len(expected_purged)
    assert report.archived == len(expected_archived)
    for item in built:
        case = db.session.get(Case, item.case_id)
        if item in expected_purged:
            assert case is None, item
            for message_id in [*item.public_ids, *item.notes]:
                assert db.session.get(Message, message_id) is None
            for key in item.storage_keys:
                assert not path_of(key).exists()
            for model in (Transfer, Event, Notification):
                assert not db.session.scalar(
                    select(func.count()).select_from(model).where(model.case_id == item.case_id)
                )
            continue
        assert case is not None, item
        if item in expected_archived:
            assert case.archived_at is not None
            assert (
                db.session.scalar(
                    select(func.count())
                    .select_from(Event)
                    .where(Event.case_id == case.id, Event.kind == EventKind.ARCHIVED)
                )
                == 1
            )
        else:
            assert case.archived_at is None, item
        # The case and its public messages stay, with their files.
        for message_id in item.public_ids:
            assert db.session.get(Message, message_id) is not None
        assert path_of(item.storage_keys[0]).exists()
        for (note_id, note_age), key in zip(item.notes.items(), item.storage_keys[1:], strict=True):
            gone = not item.held and note_age > notes_days
            assert (db.session.get(Message, note_id) is None) is gone, (item, note_age)
            assert path_of(key).exists() is not gone
    # The access log is evidence: every row stays; those of purged cases lose the link only.
    assert db.session.scalar(select(func.count()).select_from(AccessLog)) == access_logs_before
    purged_ids = [b.case_id for b in expected_purged]
    kept = db.session.scalars(select(AccessLog).where(AccessLog.object_id.in_(purged_ids))).all()
    assert len(kept) == len(purged_ids) and all(row.case_id is None for row in kept)
    assert db.session.get(Case, linked.case_id).linked_case_id is None  # type: ignore[union-attr]
    # Every case kept still has a message; no attachment row lost its file.
    assert not db.session.scalar(select(func.count()).select_from(Case).where(~Case.messages.any()))
    for attachment in db.session.scalars(select(Attachment)):
        assert path_of(attachment.storage_key).exists()
    assert any("purge:" in line for line in progress)

    # A second run finds nothing to do.
    again = apply_retention(now=now, commit=db.session.commit, progress=progress.append)
    assert (again.purged_cases, again.archived, again.purged_notes) == (0, 0, 0)


def test_the_periods_are_settings(app: Flask, world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    item = _build(world, now, 400, closed=True, held=False)
    db.session.commit()
    monkeypatch.setitem(app.config, "RETENTION_ARCHIVE_YEARS", 1)
    monkeypatch.setitem(app.config, "RETENTION_NOTES_YEARS", 5)
    report = apply_retention(now=now, commit=db.session.commit, progress=lambda _: None)
    assert (report.archived, report.purged_notes, report.purged_cases) == (1, 0, 0)
    db.session.expire_all()
    assert db.session.get(Case, item.case_id).archived_at is not None  # type: ignore[union-attr]


def test_the_command_dry_run_changes_nothing_then_the_command_applies(
    app: Flask, world: World
) -> None:
    now = utcnow()
    old = _build(world, now, 11 * YEAR, closed=True, held=False)
    middle = _build(world, now, 6 * YEAR, closed=True, held=False)
    db.session.commit()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["econtacts", "retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run, nothing changed" in dry.output
    assert "1 case(s) archived, 1 case(s) purged (4 message(s), 3 attachment(s))" in dry.output
    db.session.expire_all()
    assert db.session.get(Case, old.case_id) is not None
    assert db.session.get(Case, middle.case_id).archived_at is None  # type: ignore[union-attr]

    done = runner.invoke(args=["econtacts", "retention"])
    assert done.exit_code == 0, done.output
    assert "Done: 1 case(s) archived, 1 case(s) purged" in done.output
    db.session.expire_all()
    assert db.session.get(Case, old.case_id) is None
    assert db.session.get(Case, middle.case_id).archived_at is not None  # type: ignore[union-attr]


def test_the_worker_queues_the_job_once_a_day(app: Flask, world: World) -> None:
    from helpers import run_jobs

    from app.platform.queue import get_redis
    from jobs.retention import DAILY_KEY, enqueue_daily

    get_redis().delete(f"{DAILY_KEY}:{app.config['RQ_QUEUE']}")
    old = _build(world, utcnow(), 11 * YEAR, closed=True, held=False)
    db.session.commit()
    assert enqueue_daily() is True
    assert enqueue_daily() is False  # another worker, the same day
    assert run_jobs(app) == 1
    db.session.expire_all()
    assert db.session.get(Case, old.case_id) is None
    get_redis().delete(f"{DAILY_KEY}:{app.config['RQ_QUEUE']}")
