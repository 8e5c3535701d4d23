"""The history partitioned by year on PostgreSQL (docs/decisions/0021): partitions created
ahead, expired years dropped whole by retention with exactly what the row-by-row rule keeps
kept (legal holds included), and the migration converting a filled base. SQLite keeps plain
tables: these tests are for the PostgreSQL leg."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
from factories import World, make_case, make_topic
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from test_retention import _attach, _message, test_retention_on_twelve_years_of_cases

from app.cases.attachments import path_of
from app.platform import partitions
from app.retention.operations import apply_retention
from models import (
    AccessLog,
    Case,
    CaseStatus,
    Event,
    EventKind,
    Message,
    Notification,
    NotificationKind,
    RetentionCategory,
    RetentionItem,
    db,
    utcnow,
)

pytestmark = pytest.mark.usefixtures("postgresql_only", "app_context")


@pytest.fixture
def postgresql_only(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the history is partitioned on PostgreSQL only")


def _exists(name: str) -> bool:
    return db.session.scalar(text("SELECT to_regclass(:n)"), {"n": f'"{name}"'}) is not None


def _where(table: str, row_id: int) -> str:
    return str(
        db.session.scalar(text(f"SELECT tableoid::regclass FROM {table} WHERE id = {row_id}"))  # noqa: S608 - table names from the catalogue
    )


def _years(first: int, last: int) -> None:
    for table in partitions.TABLES:
        for year in range(first, last + 1):
            partitions.create_year(table, year)
    db.session.commit()


def test_partitions_are_created_ahead_with_their_indexes(app: Flask, world: World) -> None:
    now = utcnow()
    names = {table: [p.name for p in partitions.partitions(table)] for table in partitions.TABLES}
    for table in partitions.TABLES:  # the migration: this year to three ahead, and DEFAULT
        for year in range(now.year, now.year + 4):
            assert f"{table}_y{year}" in names[table]
        assert names[table][-1] == f"{table}_default"

    later = now.replace(year=now.year + 2)
    created = partitions.create_ahead(now=later)
    db.session.commit()
    assert set(created) >= {f"message_y{now.year + 5}", f"event_y{now.year + 5}"}
    assert partitions.create_ahead(now=later) == []  # idempotent
    indexes = set(
        db.session.scalars(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = :t"),
            {"t": f"message_y{now.year + 5}"},
        )
    )
    assert any("(case_id, created_at, id)" in index for index in indexes)
    assert any("UNIQUE" in index and "(submission_token)" in index for index in indexes)
    assert any("gin" in index for index in indexes)  # the full-text search
    # A row of that year lands in its partition; one beyond every year, in DEFAULT.
    case = make_case(world.taxpayer_a, world.office_a, topic=make_topic(), subject="Future")
    future = _message(case, later.replace(year=now.year + 5), internal=False, body="Plus tard")
    stray = AccessLog(
        agent_id=world.agent_a.id, object_kind="case", created_at=later.replace(year=now.year + 40)
    )
    db.session.add(stray)
    db.session.commit()
    assert _where("message", future.id) == f"message_y{now.year + 5}"
    assert _where("access_log", stray.id) == "access_log_default"
    assert partitions.default_rows("access_log") == 1


def test_an_expired_year_is_dropped_and_a_held_case_is_kept(app: Flask, world: World) -> None:
    now = utcnow()
    old = now.year - 11  # its whole range is older than the 10 years of the purge
    _years(old, old + 1)
    in_old = now.replace(year=old, month=6, day=15)
    topic = make_topic()

    def case(*, closed: bool, held: bool, last: timedelta | None = None) -> Case:
        made = make_case(world.taxpayer_a, world.office_a, topic=topic, subject="Ancienne")
        made.received_at = in_old
        made.legal_hold = held
        made.status = CaseStatus.CLOSED if closed else CaseStatus.IN_PROGRESS
        made.closed_at = in_old if closed else None
        made.last_activity_at = now - last if last else in_old + timedelta(days=1)
        return made

    purged, held, still_open = (
        case(closed=True, held=False),
        case(closed=True, held=True),
        case(closed=False, held=False, last=timedelta(days=30)),
    )
    messages = {}
    files = {}
    for label, owner in (("purged", purged), ("held", held), ("open", still_open)):
        first = _message(owner, in_old, internal=False, body=f"Demande {label}")
        messages[label] = first.id
        files[label] = _attach(first, "avis.pdf")
        db.session.add(
            Notification(
                kind=NotificationKind.NEW_MESSAGE,
                recipient="usager@example.fr",
                subject="Nouveau message",
                body="Lien",
                case_id=owner.id,
                message_id=first.id,
                created_at=in_old,
            )
        )
        db.session.add(Event(kind=EventKind.RECEIVED, case_id=owner.id, created_at=in_old, data={}))
    recent = _message(still_open, now - timedelta(days=30), internal=False, body="Relance")
    db.session.add(
        Event(kind=EventKind.SETTING_CHANGED, created_at=in_old, data={"name": "x"})
    )  # an event of no case: the rule keeps it
    db.session.add(
        AccessLog(
            agent_id=world.agent_a.id,
            case_id=purged.id,
            object_kind="case",
            object_id=purged.id,
            created_at=in_old,
        )
    )
    db.session.commit()
    assert _where("message", messages["held"]) == f"message_y{old}"
    ids = {label: owner.id for label, owner in (("purged", purged), ("held", held))}
    count = func.count()
    messages_before = db.session.scalar(select(count).select_from(Message))
    events_before = db.session.scalar(select(count).select_from(Event))

    progress: list[str] = []
    report = apply_retention(now=now, commit=db.session.commit, progress=progress.append)
    db.session.expire_all()

    assert f"message_y{old}" in report.dropped_partitions
    assert f"event_y{old}" in report.dropped_partitions
    assert not _exists(f"message_y{old}") and not _exists(f"event_y{old}")
    assert _exists(f"message_y{old + 1}")  # not wholly expired
    assert _exists(f"access_log_y{old}")  # the access log is kept for ever
    # Only the purged case's rows went.
    assert db.session.get(Case, ids["purged"]) is None
    assert db.session.get(Message, messages["purged"]) is None
    assert not path_of(files["purged"]).exists()
    assert db.session.scalar(select(count).select_from(Message)) == messages_before - 1
    assert db.session.scalar(select(count).select_from(Event)) == events_before - 1
    # The held and the open cases keep their old messages (moved to DEFAULT), attachments,
    # files and outbox rows; the composite key still holds them.
    for label in ("held", "open"):
        message = db.session.get(Message, messages[label])
        assert message is not None and message.body == f"Demande {label}"
        assert _where("message", message.id) == "message_default"
        (attachment,) = message.attachments
        assert attachment.storage_key == files[label]
        assert attachment.message_created_at == message.created_at
        assert path_of(files[label]).exists()
        assert (
            db.session.scalar(
                select(count).select_from(Notification).where(Notification.message_id == message.id)
            )
            == 1
        )
    assert db.session.get(Message, recent.id) is not None
    assert db.session.get(Case, ids["held"]) is not None
    assert db.session.scalar(select(count).select_from(AccessLog)) == 1
    items = {
        (item.category, item.reference): item
        for item in db.session.scalars(select(RetentionItem)).all()
    }
    dropped = items[(RetentionCategory.PARTITION, f"message_y{old}")]
    assert (dropped.messages, dropped.attachments) == (1, 1)
    kept = items[(RetentionCategory.PARTITION_KEPT, f"message_y{old}")]
    assert (kept.messages, kept.attachments) == (2, 2)
    assert items[(RetentionCategory.PARTITION_KEPT, f"event_y{old}")].messages == 3
    assert str(RetentionCategory.PARTITION_KEPT.label).startswith("Lignes conservées")


def test_twelve_years_of_cases_dropped_by_year_lose_exactly_what_the_rule_says(
    app: Flask, world: World
) -> None:
    """The row-by-row test of app.retention, with every one of its 12 years in a partition:
    the expired years go whole, and the same cases, messages and notes are left."""
    now = utcnow()
    _years(now.year - 13, now.year)
    test_retention_on_twelve_years_of_cases(app, world)
    assert not _exists(f"message_y{now.year - 12}")


# --- the migration on a filled base -------------------------------------------------------------

BEFORE = "c8e2a4f6b1d3"  # the head before the partitioning migration


@pytest.fixture
def filled_base(app: Flask, tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    from app import create_app

    with app.app_context():
        url = db.engine.url
    name = f"{url.database}_migration"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    other = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": make_url(str(url))
            .set(database=name)
            .render_as_string(hide_password=False),
            "DATA_DIR": str(tmp_path),
            "ATTACHMENT_DIR": str(tmp_path / "att"),
            "RQ_QUEUE": f"test-{secrets.token_hex(4)}",
        }
    )
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


FILL = """
INSERT INTO office (id, code, name, path, active, kind_id)
SELECT 1, 'SIP-T', 'SIP test', '1', true, id FROM office_kind WHERE code = 'sip';
INSERT INTO topic (id, code, label, position, active) VALUES (1, 'T', 'Sujet', 1, true);
INSERT INTO taxpayer (id, kind, tax_number, last_name, notify_by_email, failed_logins,
                      created_at, legal_hold)
VALUES (1, 'individual', '1234567890123', 'Test', false, 0, now(), false);
INSERT INTO "case" (id, reference, channel, topic_id, subject, status, office_id, taxpayer_id,
                    received_at, last_activity_at, visible_to_taxpayer, unread_by_taxpayer,
                    unread_by_office, awaiting_acknowledgement, legal_hold, version)
SELECT n, 'R' || lpad(n::text, 9, '0'), 'online', 1, 'Sujet ' || n, 'closed', 1, 1,
       now() - (n || ' days')::interval, now() - (n || ' days')::interval,
       true, false, false, false, false, 1
  FROM generate_series(1, 400) n;
INSERT INTO message (case_id, office_id, author_kind, body, internal, requests_information,
                     created_at, submission_token)
SELECT 1 + n % 400, 1, 'taxpayer', 'Message ' || n, false, false,
       now() - ((n * 3) || ' days')::interval, CASE WHEN n % 5 = 0 THEN 'tok' || n END
  FROM generate_series(1, 3000) n;
INSERT INTO attachment (message_id, filename, storage_key, content_type, size, sha256, created_at)
SELECT id, 'a.pdf', 'key' || id, 'application/pdf', 10, repeat('0', 64), created_at
  FROM message WHERE id % 7 = 0;
INSERT INTO notification (kind, status, recipient, subject, body, message_id, attempts,
                          next_attempt_at, created_at)
SELECT 'new_message', 'sent', 'u@example.fr', 'S', 'B', id, 1, created_at, created_at
  FROM message WHERE id % 11 = 0;
INSERT INTO event (kind, case_id, office_id, created_at, data)
SELECT 'received', 1 + n % 400, 1, now() - ((n * 2) || ' days')::interval, '{}'
  FROM generate_series(1, 5000) n;
INSERT INTO access_log (agent_id, office_id, case_id, object_kind, object_id, created_at)
SELECT 1, 1, 1 + n % 400, 'case', n, now() - (n || ' days')::interval
  FROM generate_series(1, 2000) n;
"""

DIGESTS = {
    "message": "SELECT count(*), sum(id), md5(string_agg(id || body || created_at::text"
    " || coalesce(submission_token, ''), ',' ORDER BY id)) FROM message",
    "event": "SELECT count(*), sum(id), md5(string_agg(id || kind || created_at::text, ','"
    " ORDER BY id)) FROM event",
    "access_log": "SELECT count(*), sum(id), md5(string_agg(id || ':' || object_id"
    " || created_at::text, ',' ORDER BY id)) FROM access_log",
    "attachment": "SELECT count(*), sum(message_id) FROM attachment",
    "notification": "SELECT count(*), sum(message_id) FROM notification",
}


def test_the_migration_converts_a_filled_base_keeping_every_row(filled_base: Flask) -> None:
    from flask_migrate import upgrade

    with filled_base.app_context():
        upgrade(revision=BEFORE)
        agent = (
            "INSERT INTO ab_user (id, first_name, last_name, username, active, email, "
            "must_change_password) VALUES (1, 'A', 'B', 'agent', true, 'a@example.fr', false)"
        )
        db.session.execute(text(agent))
        for statement in FILL.split(";\n"):
            if statement.strip():
                db.session.execute(text(statement))
        db.session.commit()
        before = {name: tuple(db.session.execute(text(sql)).one()) for name, sql in DIGESTS.items()}
        span = db.session.execute(
            text("SELECT min(created_at), max(created_at) FROM message")
        ).one()
        db.session.remove()

        upgrade()

        after = {name: tuple(db.session.execute(text(sql)).one()) for name, sql in DIGESTS.items()}
        assert after == before
        assert partitions.enabled()
        years = [p.name for p in partitions.partitions("message")]
        expected = [f"message_y{y}" for y in range(span[0].year, utcnow().year + 4)]
        assert years == [*expected, "message_default"]
        assert partitions.default_rows("message") == 0
        # Every attachment names its message's partition; the sequences go on.
        assert (
            db.session.scalar(
                text(
                    "SELECT count(*) FROM attachment a JOIN message m "
                    "ON (m.id, m.created_at) = (a.message_id, a.message_created_at)"
                )
            )
            == before["attachment"][0]
        )
        next_id = db.session.scalar(
            text(
                "INSERT INTO message (case_id, office_id, author_kind, body, internal,"
                " requests_information, created_at)"
                " VALUES (1, 1, 'taxpayer', 'Nouveau', false, false, now()) RETURNING id"
            )
        )
        assert next_id == 3001
        with pytest.raises(Exception, match='is still referenced from table "attachment"'):
            db.session.execute(text("DELETE FROM message WHERE id = 7"))
        db.session.rollback()
        db.session.remove()
