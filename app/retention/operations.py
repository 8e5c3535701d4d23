"""Retention of contact data: the legal periods, applied by a CLI command and a daily RQ job.

Rules (docs/security.md, "Retention"; periods in config: RETENTION_*_YEARS):

- a **closed** case whose last activity is older than ``RETENTION_ARCHIVE_YEARS`` (4) is
  archived: ``Case.archived_at`` is set and an ARCHIVED event recorded; it stays readable (the
  summary sheet, the taxpayer's history) but nothing can be done on it any more;
- a **closed** case whose last activity is older than ``RETENTION_PURGE_YEARS`` (10) is
  deleted with its messages, attachments (rows and files), transfers, events and outbox rows;
  a case it is linked to loses the link. Open cases are never archived nor purged;
- internal notes older than ``RETENTION_NOTES_YEARS`` (2) are deleted with their attachments.
  A case's first message is the case (or the recorded contact) itself, never a note,
  even when it is internal (a contact hidden from the taxpayer): it follows the case's
  periods;
- anything under legal hold (the case's, or its taxpayer's: ``app.retention.holds``) is skipped,
  and the run's report lists those it skipped;
- on PostgreSQL the history is partitioned by year (docs/decisions/0021): a year of messages or
  events whose whole range is older than the purge period is dropped whole
  (``app.retention.partitions``), after the rows this rule keeps were moved out of it (open or
  recent cases, legal holds, events of no case); then the rule applies row by row as above;
- the access log is **kept**: it is the evidence of who consulted a taxpayer's file, which the
  administration must be able to show; its rows lose their link to a purged case
  (``case_id`` set to NULL; ``object_kind``/``object_id``, the taxpayer, the agent and the date
  stay).

Each run (not the dry run) writes its report (``RetentionRun``): counts, and per category the
references of the cases archived, purged, thinned of their notes or skipped under hold, with
how many messages and attachments went, never what they said. Administrators read it on screen
and export it (views.admin.holds).

Work goes in batches (``BATCH_SIZE`` cases or notes). Each batch is one unit of work: the
entry point (CLI or job) commits it, then removes the files of the attachments it deleted, so a
crash never leaves a row pointing at a missing file (at worst an orphan file, harmless).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, delete, func, insert, select, update

from app.cases.attachments import path_of
from app.retention import partitions
from app.retention.holds import held_cases
from app.steering import rollups
from models import (
    AccessLog,
    Attachment,
    Case,
    CaseStatus,
    Event,
    EventKind,
    Message,
    Notification,
    RetentionCategory,
    RetentionItem,
    RetentionRun,
    Transfer,
    db,
    utcnow,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass(frozen=True)
class Periods:
    archive_before: datetime
    purge_before: datetime
    notes_before: datetime

    @classmethod
    def from_config(cls, now: datetime | None = None) -> Periods:
        now = now or utcnow()
        config = current_app.config
        return cls(
            archive_before=_years_before(now, int(config["RETENTION_ARCHIVE_YEARS"])),
            purge_before=_years_before(now, int(config["RETENTION_PURGE_YEARS"])),
            notes_before=_years_before(now, int(config["RETENTION_NOTES_YEARS"])),
        )


def _years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


@dataclass
class Report:
    """What a run did (or, dry, would do)."""

    archived: int = 0
    purged_cases: int = 0
    purged_messages: int = 0
    purged_attachments: int = 0
    purged_notes: int = 0
    held: int = 0
    files: list[str] = field(default_factory=list)
    dropped_partitions: list[str] = field(default_factory=list)
    kept_rows: int = 0  # rows moved out of the dropped years (the rule keeps them)

    def add(self, other: Report) -> None:
        self.dropped_partitions.extend(other.dropped_partitions)
        self.kept_rows += other.kept_rows
        self.archived += other.archived
        self.purged_cases += other.purged_cases
        self.purged_messages += other.purged_messages
        self.purged_attachments += other.purged_attachments
        self.purged_notes += other.purged_notes
        self.files.extend(other.files)

    def summary(self) -> str:
        return (
            f"{self.archived} case(s) archived, {self.purged_cases} case(s) purged "
            f"({self.purged_messages} message(s), {self.purged_attachments} attachment(s)), "
            f"{self.purged_notes} internal note(s) purged, {self.held} case(s) under legal "
            f"hold skipped, {len(self.dropped_partitions)} year partition(s) dropped "
            f"({self.kept_rows} row(s) kept out of them)"
        )


def _due_but_held(periods: Periods) -> ColumnElement[bool]:
    """Closed long enough to be archived (or purged), but under hold."""
    return (
        _closed_before(periods.archive_before)
        & held_cases()
        & (Case.archived_at.is_(None) | (Case.last_activity_at < periods.purge_before))
    )


# --- what is due --------------------------------------------------------------------------------


def _closed_before(moment: datetime) -> ColumnElement[bool]:
    return (Case.status == CaseStatus.CLOSED) & (Case.last_activity_at < moment)


def _due_for_archive(periods: Periods) -> ColumnElement[bool]:
    return (
        _closed_before(periods.archive_before)
        & Case.archived_at.is_(None)
        & ~held_cases()
        # Those due for purge go straight to it.
        & (Case.last_activity_at >= periods.purge_before)
    )


def _due_for_purge(periods: Periods) -> ColumnElement[bool]:
    return _closed_before(periods.purge_before) & ~held_cases()


def _due_notes(periods: Periods) -> ColumnElement[bool]:
    return (
        Message.internal
        & (Message.created_at < periods.notes_before)
        & Message.case_id.in_(select(Case.id).where(~held_cases()))
        # A case's first message is the case itself, not a note.
        & Message.id.not_in(_earliest_message_ids())
    )


def _earliest_message_ids() -> Select[int]:
    earliest = (
        select(Message.case_id, func.min(Message.created_at).label("at"))
        .group_by(Message.case_id)
        .subquery()
    )
    return select(Message.id).join(
        earliest,
        (Message.case_id == earliest.c.case_id) & (Message.created_at == earliest.c.at),
    )


def count_due(periods: Periods) -> Report:
    """What a run would do now (the dry run, and the progress total)."""
    report = Report()
    count = func.count()
    report.archived = (
        db.session.scalar(select(count).select_from(Case).where(_due_for_archive(periods))) or 0
    )
    purge_ids = select(Case.id).where(_due_for_purge(periods))
    report.purged_cases = db.session.scalar(select(count).where(Case.id.in_(purge_ids))) or 0
    report.purged_messages = (
        db.session.scalar(select(count).select_from(Message).where(Message.case_id.in_(purge_ids)))
        or 0
    )
    report.purged_attachments = (
        db.session.scalar(
            select(count)
            .select_from(Attachment)
            .join(Message)
            .where(Message.case_id.in_(purge_ids))
        )
        or 0
    )
    report.purged_notes = (
        db.session.scalar(
            select(count)
            .select_from(Message)
            .where(_due_notes(periods), Message.case_id.not_in(purge_ids))
        )
        or 0
    )
    report.held = (
        db.session.scalar(select(count).select_from(Case).where(_due_but_held(periods))) or 0
    )
    return report


# --- one batch at a time ------------------------------------------------------------------------


def _write_items(
    run_id: int | None, category: RetentionCategory, rows: list[tuple[str, int, int]]
) -> None:
    """The report's lines: (reference, messages, attachments) of each case concerned."""
    if run_id is None or not rows:
        return
    db.session.execute(
        insert(RetentionItem),
        [
            {
                "run_id": run_id,
                "category": category,
                "reference": reference,
                "messages": messages,
                "attachments": attachments,
            }
            for reference, messages, attachments in rows
        ],
    )


def _counts_per_case(message_ids: Select[Any]) -> dict[int, tuple[int, int]]:
    """Per case: how many of these messages, and how many attachments they carry."""
    messages = select(Message.id, Message.case_id).where(Message.id.in_(message_ids)).subquery()
    rows = db.session.execute(
        select(
            messages.c.case_id,
            func.count(func.distinct(messages.c.id)),
            func.count(Attachment.id),
        )
        .select_from(messages)
        .outerjoin(Attachment, Attachment.message_id == messages.c.id)
        .group_by(messages.c.case_id)
    ).all()
    return {case_id: (count, files) for case_id, count, files in rows}


def archive_batch(
    periods: Periods, *, now: datetime, limit: int = BATCH_SIZE, run_id: int | None = None
) -> Report:
    cases = db.session.scalars(
        select(Case).where(_due_for_archive(periods)).order_by(Case.id).limit(limit)
    ).all()
    _write_items(run_id, RetentionCategory.ARCHIVED, [(case.reference, 0, 0) for case in cases])
    for case in cases:
        case.archived_at = now
        db.session.add(
            Event(
                kind=EventKind.ARCHIVED,
                case_id=case.id,
                taxpayer_id=case.taxpayer_id,
                office_id=case.office_id,
                created_at=now,
                data={"retention_years": int(current_app.config["RETENTION_ARCHIVE_YEARS"])},
            )
        )
    db.session.flush()
    return Report(archived=len(cases))


def _delete_messages(message_ids: list[int], report: Report) -> None:
    """Delete messages with their attachments (children first: the keys RESTRICT)."""
    if not message_ids:
        return
    attachments = db.session.execute(
        select(Attachment.id, Attachment.storage_key).where(Attachment.message_id.in_(message_ids))
    ).all()
    report.files.extend(key for _, key in attachments)
    report.purged_attachments += len(attachments)
    db.session.execute(delete(Attachment).where(Attachment.message_id.in_(message_ids)))
    db.session.execute(delete(Notification).where(Notification.message_id.in_(message_ids)))
    db.session.execute(delete(Message).where(Message.id.in_(message_ids)))


def purge_batch(periods: Periods, *, limit: int = BATCH_SIZE, run_id: int | None = None) -> Report:
    report = Report()
    cases = db.session.execute(
        select(Case.id, Case.reference)
        .where(_due_for_purge(periods))
        .order_by(Case.id)
        .limit(limit)
    ).all()
    case_ids = [case_id for case_id, _ in cases]
    if not case_ids:
        return report
    if run_id is not None:
        counts = _counts_per_case(select(Message.id).where(Message.case_id.in_(case_ids)))
        _write_items(
            run_id,
            RetentionCategory.PURGED,
            [(reference, *counts.get(case_id, (0, 0))) for case_id, reference in cases],
        )
    message_ids = list(db.session.scalars(select(Message.id).where(Message.case_id.in_(case_ids))))
    report.purged_messages = len(message_ids)
    _delete_messages(message_ids, report)
    rollups.transfers_deleted(case_ids)  # the steering transfer figures lose them too
    db.session.execute(delete(Transfer).where(Transfer.case_id.in_(case_ids)))
    db.session.execute(delete(Event).where(Event.case_id.in_(case_ids)))
    db.session.execute(delete(Notification).where(Notification.case_id.in_(case_ids)))
    # Kept: the access log (evidence of consultation) loses only its link to the case.
    db.session.execute(
        update(AccessLog).where(AccessLog.case_id.in_(case_ids)).values(case_id=None)
    )
    db.session.execute(
        update(Case).where(Case.linked_case_id.in_(case_ids)).values(linked_case_id=None)
    )
    rollups.journal_deleted(case_ids)  # the steering figures lose them too
    db.session.execute(delete(Case).where(Case.id.in_(case_ids)))
    db.session.expire_all()
    report.purged_cases = len(case_ids)
    return report


def notes_batch(periods: Periods, *, limit: int = BATCH_SIZE, run_id: int | None = None) -> Report:
    report = Report()
    note_ids = list(
        db.session.scalars(
            select(Message.id).where(_due_notes(periods)).order_by(Message.id).limit(limit)
        )
    )
    if run_id is not None and note_ids:
        counts = _counts_per_case(select(Message.id).where(Message.id.in_(note_ids)))
        references = dict(
            db.session.execute(select(Case.id, Case.reference).where(Case.id.in_(counts))).all()
        )
        _write_items(
            run_id,
            RetentionCategory.NOTES,
            [(references[case_id], *counts[case_id]) for case_id in sorted(counts)],
        )
    _delete_messages(note_ids, report)
    db.session.expire_all()
    report.purged_notes = len(note_ids)
    return report


def remove_files(storage_keys: list[str]) -> None:
    """After the commit: the files of the attachments deleted."""
    for key in storage_keys:
        try:
            path_of(key).unlink(missing_ok=True)
        except OSError as error:  # logged, not fatal: an orphan file harms nobody
            log.error("retention: could not remove attachment file %s: %s", key, error)


def apply_retention(
    *,
    now: datetime | None = None,
    commit: Callable[[], None],
    progress: Callable[[str], None] = log.info,
    batch_size: int = BATCH_SIZE,
) -> Report:
    """Apply every period, batch by batch; ``commit`` ends each batch (the entry point's)."""
    now = now or utcnow()
    periods = Periods.from_config(now)
    total = count_due(periods)
    progress(
        f"Due: {total.purged_cases} case(s) to purge, {total.archived} to archive, "
        f"{total.purged_notes} note(s) to purge; {total.held} under legal hold."
    )
    done = Report(held=total.held)
    run_id = _start_run(periods, now=now, held=total.held)
    commit()  # the report exists even if a batch fails later
    steps: list[tuple[str, Callable[[], Report], Callable[[Report], int], int]] = [
        (
            "purge",
            lambda: purge_batch(periods, limit=batch_size, run_id=run_id),
            _cases,
            total.purged_cases,
        ),
        (
            "archive",
            lambda: archive_batch(periods, now=now, limit=batch_size, run_id=run_id),
            _archived,
            total.archived,
        ),
        (
            "notes",
            lambda: notes_batch(periods, limit=batch_size, run_id=run_id),
            _notes,
            total.purged_notes,
        ),
    ]
    for batch in _drop_years(periods, run_id):
        commit()
        remove_files(batch.files)
        batch.files.clear()
        done.add(batch)
        progress(f"partition {batch.dropped_partitions[0]} dropped, {batch.kept_rows} row(s) kept")
    for name, run, counted, expected in steps:
        for batch in _batches(run, counted):
            commit()
            remove_files(batch.files)
            batch.files.clear()
            done.add(batch)
            progress(f"{name}: {counted(done)}/{expected}")
    _finish_run(run_id, done)
    commit()
    log.info("Retention: %s", done.summary())
    return done


def _drop_years(periods: Periods, run_id: int | None) -> Iterator[Report]:
    """One expired year of history at a time (PostgreSQL), dropped whole."""
    for partition in partitions.expired(periods.purge_before):
        dropped, kept, files_dropped, files_kept, files = partitions.drop_year(
            partition, _due_for_purge(periods)
        )
        _write_items(
            run_id, RetentionCategory.PARTITION, [(partition.name, dropped, files_dropped)]
        )
        if kept:
            _write_items(
                run_id, RetentionCategory.PARTITION_KEPT, [(partition.name, kept, files_kept)]
            )
        yield Report(
            purged_messages=dropped if partition.table == "message" else 0,
            purged_attachments=files_dropped,
            files=files,
            dropped_partitions=[partition.name],
            kept_rows=kept,
        )


def _start_run(periods: Periods, *, now: datetime, held: int) -> int:
    run = RetentionRun(
        started_at=now,
        archive_before=periods.archive_before,
        purge_before=periods.purge_before,
        notes_before=periods.notes_before,
        archived=0,
        purged_cases=0,
        purged_messages=0,
        purged_attachments=0,
        purged_notes=0,
        held=held,
    )
    db.session.add(run)
    db.session.flush()
    held_cases_due = db.session.scalars(
        select(Case.reference).where(_due_but_held(periods)).order_by(Case.id)
    ).all()
    _write_items(run.id, RetentionCategory.HELD, [(ref, 0, 0) for ref in held_cases_due])
    return run.id


def _finish_run(run_id: int, done: Report) -> None:
    run = db.session.get(RetentionRun, run_id)
    if run is None:
        return
    run.finished_at = utcnow()
    run.archived = done.archived
    run.purged_cases = done.purged_cases
    run.purged_messages = done.purged_messages
    run.purged_attachments = done.purged_attachments
    run.purged_notes = done.purged_notes
    db.session.flush()


def _cases(report: Report) -> int:
    return report.purged_cases


def _archived(report: Report) -> int:
    return report.archived


def _notes(report: Report) -> int:
    return report.purged_notes


def _batches(run: Callable[[], Report], counted: Callable[[Report], int]) -> Iterator[Report]:
    while True:
        batch = run()
        if not counted(batch):
            return
        yield batch
