"""The yearly partitions of the history tables on PostgreSQL (docs/decisions/0021).

``message``, ``event`` and ``access_log`` are partitioned by RANGE on ``created_at``, one
partition per calendar year (UTC), named ``<table>_y<year>``, plus ``<table>_default`` for rows
outside every year (the rows retention kept out of a dropped year; a row dated beyond the years
created, which the daily job makes impossible by creating them three years ahead). SQLite, and
the training schema (created from the models), keep plain tables: every function here then does
nothing.

Operations flush, never commit: the caller (the daily job, the command) commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from models import db, utcnow

TABLES = ("message", "event", "access_log")
YEARS_AHEAD = 3
# UNIQUE constraints without the partition key cannot live on the parent: one index per
# partition (a duplicate across two years is not caught; docs/decisions/0021 says why it is
# harmless for a submission token).
UNIQUE_PER_PARTITION = {"message": ("uq_message_submission_token", "submission_token")}
_BOUNDS = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    start: datetime | None  # None: the DEFAULT partition
    end: datetime | None
    rows: int | None = None  # the planner's estimate (pg_class.reltuples), -1 never analysed


def enabled() -> bool:
    """True when the session's database partitions the history (PostgreSQL, real store)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return False
    return bool(
        db.session.scalar(
            text(
                "SELECT count(*) FROM pg_partitioned_table p "
                "JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = 'message' "
                "AND c.relnamespace = to_regnamespace(current_schema())"
            )
        )
    )


def _bound(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def partitions(table: str) -> list[Partition]:
    """The partitions of ``table``, oldest first, the DEFAULT one last."""
    rows = db.session.execute(
        text(
            """SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint
                 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = CAST(:table AS regclass)"""
        ),
        {"table": f'"{table}"'},
    ).all()
    found = []
    for name, bound, estimate in rows:
        match = _BOUNDS.search(bound or "")
        if match:
            start, end = _bound(match.group(1)), _bound(match.group(2))
            found.append(Partition(table, name, start, end, estimate))
        else:
            found.append(Partition(table, name, None, None, estimate))
    return sorted(
        found, key=lambda p: (p.start is None, p.start or datetime.min.replace(tzinfo=UTC))
    )


def year_start(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)


def create_year(table: str, year: int) -> bool:
    """Create ``table``'s partition of ``year`` if missing (its per-partition unique indexes
    too). Fails, naming the partition, if the DEFAULT partition holds rows of that year: they
    must be moved first (docs/operations.md)."""
    name = f"{table}_y{year}"
    if db.session.scalar(text("SELECT to_regclass(:name)"), {"name": f'"{name}"'}) is not None:
        return False
    start, end = year_start(year), year_start(year + 1)
    db.session.execute(
        text(
            f'CREATE TABLE "{name}" PARTITION OF "{table}" '
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )
    name_indexes(name)
    if table in UNIQUE_PER_PARTITION:
        index, column = UNIQUE_PER_PARTITION[table]
        db.session.execute(text(f'CREATE UNIQUE INDEX "{name}_{index}" ON "{name}" ({column})'))
    return True


# The indexes PostgreSQL made on a partition for its parent's, with the parent index's name.
PARTITION_INDEXES = """
SELECT c.relname, p.relname FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
  JOIN pg_class p ON p.oid = i.inhparent AND p.relkind = 'I'
  JOIN pg_index x ON x.indexrelid = c.oid
 WHERE x.indrelid = CAST(:partition AS regclass)
"""


def name_indexes(partition: str) -> None:
    """Name a partition's indexes ``<partition>_<parent index>`` (PostgreSQL's own names say
    only the columns), so that a plan names the index the pages rely on."""
    rows = db.session.execute(text(PARTITION_INDEXES), {"partition": f'"{partition}"'}).all()
    for index, parent in rows:
        wanted = f"{partition}_{parent}"[:63]
        if index != wanted:
            db.session.execute(text(f'ALTER INDEX "{index}" RENAME TO "{wanted}"'))


def create_ahead(now: datetime | None = None, years: int = YEARS_AHEAD) -> list[str]:
    """Make sure every table has its partitions from this year to ``years`` ahead; returns the
    names created. Nothing on a database that does not partition."""
    if not enabled():
        return []
    year = (now or utcnow()).year
    created = []
    for table in TABLES:
        for offset in range(years + 1):
            if create_year(table, year + offset):
                created.append(f"{table}_y{year + offset}")
    db.session.flush()
    return created


def default_rows(table: str) -> int:
    """Rows in ``table``'s DEFAULT partition (kept by retention, or dated outside every year)."""
    return int(db.session.scalar(text(f'SELECT count(*) FROM "{table}_default"')) or 0)  # noqa: S608 - table names from the catalogue


def analyze() -> None:
    """Refresh the statistics of the partitioned parents: autovacuum analyses each partition but
    never a parent, whose statistics the planner uses for queries over several years."""
    if not enabled():
        return
    for table in TABLES:
        db.session.execute(text(f'ANALYZE "{table}"'))
