"""Retention by whole years: on PostgreSQL, a year's partition of ``message`` or ``event`` whose
whole range is older than the purge period is detached and dropped instead of deleted row by row
(docs/decisions/0021).

The row-by-row rule (app.retention.operations) stays the law: a message or an event goes only
with its case, when the case is due for purge (closed, last activity older than
``RETENTION_PURGE_YEARS``, no legal hold). So before a year is dropped, every row of it the rule
would keep (a case still open, closed recently, or under legal hold; an event of no case) is
copied aside, with the attachments and outbox rows of the messages kept, and put back after the
drop: it lands in the DEFAULT partition, where the ordinary rule will find it later. The access
log is never dropped: the rule keeps it (evidence of consultation).

One year is one unit of work, in one transaction: the caller commits after each, then removes
the files of the attachments dropped.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import ColumnElement, column, select, table, text

from app.platform import partitions
from models import Case, db

log = logging.getLogger(__name__)

DROPPED_TABLES = ("message", "event")  # access_log: kept for ever (app.retention.operations)
# The tables pointing at a message (with its partition key, the composite foreign key).
REFERENCING = ("attachment", "notification")


def expired(purge_before: datetime) -> list[partitions.Partition]:
    """The years of history whose whole range is older than ``purge_before``."""
    if not partitions.enabled():
        return []
    return [
        partition
        for name in DROPPED_TABLES
        for partition in partitions.partitions(name)
        if partition.end is not None and partition.end <= purge_before
    ]


def _columns(name: str) -> str:
    """The stored (not generated) columns of a table, for an INSERT ... SELECT."""
    names = db.session.scalars(
        text(
            """SELECT attname FROM pg_attribute
                WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped
                  AND attgenerated = '' ORDER BY attnum"""
        ),
        {"t": f'"{name}"'},
    ).all()
    return ", ".join(f'"{name}"' for name in names)


def _set_aside(source: str, kept: str, condition: str, params: dict[str, object]) -> int:
    """Copy ``source``'s rows matching ``condition`` into the temporary table ``kept``."""
    db.session.execute(
        text(
            f'CREATE TEMPORARY TABLE "{kept}" ON COMMIT DROP AS '  # noqa: S608 - table names from the catalogue
            f'SELECT {_columns(source)} FROM "{source}" WHERE {condition}'
        ),
        params,
    )
    return int(db.session.scalar(text(f'SELECT count(*) FROM "{kept}"')) or 0)  # noqa: S608 - table names from the catalogue


def _put_back(target: str, kept: str) -> None:
    names = _columns(target)
    db.session.execute(text(f'INSERT INTO "{target}" ({names}) SELECT {names} FROM "{kept}"'))  # noqa: S608 - table names from the catalogue


def drop_year(
    partition: partitions.Partition, due_for_purge: ColumnElement[bool]
) -> tuple[int, int, int, int, list[str]]:
    """Drop one expired year, keeping what the rule keeps. Returns (rows dropped, rows kept,
    attachments dropped, attachments kept, storage keys of the attachments dropped)."""
    assert partition.start is not None and partition.end is not None
    part = table(partition.name, column("id"), column("case_id"))
    due = select(Case.id).where(due_for_purge)
    kept_condition: ColumnElement[bool] = part.c.case_id.not_in(due)
    if partition.table == "event":
        kept_condition = part.c.case_id.is_(None) | kept_condition
    kept_ids = list(db.session.scalars(select(part.c.id).where(kept_condition)))
    total = int(db.session.scalar(text(f'SELECT count(*) FROM "{partition.name}"')) or 0)  # noqa: S608 - table names from the catalogue
    bounds = {"start": partition.start, "end": partition.end, "kept": kept_ids}
    kept = _set_aside(partition.name, "retention_kept", "id = ANY(:kept)", bounds)
    files: list[str] = []
    attachments_dropped = attachments_kept = 0
    if partition.table == "message":
        in_year = "message_created_at >= :start AND message_created_at < :end"
        files = list(
            db.session.scalars(
                text(
                    f"SELECT storage_key FROM attachment WHERE {in_year} "  # noqa: S608 - table names from the catalogue
                    "AND message_id <> ALL(:kept)"
                ),
                bounds,
            )
        )
        attachments_dropped = len(files)
        for name in REFERENCING:
            count = _set_aside(
                name, f"retention_kept_{name}", f"{in_year} AND message_id = ANY(:kept)", bounds
            )
            if name == "attachment":
                attachments_kept = count
            db.session.execute(text(f'DELETE FROM "{name}" WHERE {in_year}'), bounds)  # noqa: S608 - table names from the catalogue
    db.session.execute(text(f'ALTER TABLE "{partition.table}" DETACH PARTITION "{partition.name}"'))
    db.session.execute(text(f'DROP TABLE "{partition.name}"'))
    _put_back(partition.table, "retention_kept")  # into the DEFAULT partition
    if partition.table == "message":
        for name in REFERENCING:
            _put_back(name, f"retention_kept_{name}")
    db.session.execute(text('DROP TABLE "retention_kept"'))
    for name in REFERENCING if partition.table == "message" else ():
        db.session.execute(text(f'DROP TABLE "retention_kept_{name}"'))
    db.session.flush()
    log.info(
        "retention: partition %s dropped (%d rows), %d rows kept",
        partition.name,
        total - kept,
        kept,
    )
    return total - kept, kept, attachments_dropped, attachments_kept, files
