"""history: message, event and access_log partitioned by year on PostgreSQL

Revision ID: a1d5c8e2f960
Revises: c8e2a4f6b1d3
Create Date: 2026-12-02

Issue 18, "ten years of history" (docs/decisions/0021):

- PostgreSQL: each of ``message``, ``event`` and ``access_log`` is rebuilt as a table partitioned
  by RANGE on ``created_at``, one partition per calendar year (UTC) from the year of its oldest row
  to three years ahead, plus a DEFAULT partition (rows kept out of a dropped year by retention,
  or dated outside every year). The old table is renamed, the new one created ``LIKE`` it (columns,
  defaults, generated columns, CHECKs), its primary key becomes ``(id, created_at)``, every index
  the old table had (read from ``pg_indexes``, so an index another migration added before this
  one is carried over) is created on the parent (so on every partition), its foreign keys are
  recreated, the rows are moved with one ``INSERT ... SELECT``, the ``id`` sequence is handed to
  the new table and the old table dropped. A UNIQUE that does not contain ``created_at``
  (``message.submission_token``) cannot live on the parent: it is one unique index per partition
  (``app.platform.partitions`` creates it with each new partition);
- ``attachment`` and ``notification`` carry ``message_created_at`` (filled from the message) and
  their foreign key becomes ``(message_id, message_created_at) -> message (id, created_at)``
  MATCH FULL: a row names its message's partition, and no message can be dropped under them;
- ``retention_item.category`` gains ``partition`` (a year's partition dropped) and
  ``partition_kept`` (its rows moved out first: open or recent cases, legal holds).

SQLite keeps plain tables: only the two columns (simple foreign key unchanged) and the CHECK.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "a1d5c8e2f960"
down_revision = "c8e2a4f6b1d3"
branch_labels = None
depends_on = None

TABLES = ("message", "event", "access_log")
KEY = "created_at"
YEARS_AHEAD = 3
# Tables whose foreign key to message becomes composite.
REFERENCING = ("attachment", "notification")
CATEGORIES_BEFORE = ["archived", "purged", "notes", "held"]
CATEGORIES = [*CATEGORIES_BEFORE, "partition", "partition_kept"]


PARTITION_INDEXES = """
SELECT c.relname, p.relname FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
  JOIN pg_class p ON p.oid = i.inhparent AND p.relkind = 'I'
  JOIN pg_index x ON x.indexrelid = c.oid
 WHERE x.indrelid = CAST(:partition AS regclass)
"""


def _rows(sql, **params):
    return op.get_bind().execute(sa.text(sql), params).all()


def _category_check(values):
    name = "ck_retention_item_retentioncategory_values"
    condition = sa.column("category").in_(values)
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "retention_item",
            reflect_args=[sa.Column("category", sa.String(length=32), nullable=False)],
        ) as batch:
            batch.drop_constraint(op.f(name), type_="check")
            batch.create_check_constraint("retentioncategory_values", condition)
        return
    op.drop_constraint(op.f(name), "retention_item", type_="check")
    op.create_check_constraint(op.f(name), "retention_item", condition)


def _year_bound(year):
    return f"'{year:04d}-01-01 00:00:00+00'"


def _partition_sql(table, year):
    return (
        f'CREATE TABLE "{table}_y{year}" PARTITION OF "{table}" '
        f"FOR VALUES FROM ({_year_bound(year)}) TO ({_year_bound(year + 1)})"
    )


def _rebuild(table, partitioned):
    """Rebuild ``table`` as a partitioned table (or, downgrading, as a plain one)."""
    old = f"{table}_before_rebuild"
    indexes = _rows(
        """SELECT i.indexname, i.indexdef, x.indisunique, x.indisprimary,
                  c.conname IS NOT NULL AS is_constraint
             FROM pg_indexes i
             JOIN pg_class ic
               ON ic.oid = CAST(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname)
                                AS regclass)
             JOIN pg_index x ON x.indexrelid = ic.oid
        LEFT JOIN pg_constraint c ON c.conindid = ic.oid AND c.conrelid = x.indrelid
            WHERE i.schemaname = current_schema() AND i.tablename = :t""",
        t=table,
    )
    outgoing = _rows(
        """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'""",
        t=f'"{table}"',
    )
    serial = op.get_bind().scalar(
        sa.text(
            """SELECT attidentity = '' FROM pg_attribute
                WHERE attrelid = CAST(:t AS regclass) AND attname = 'id'"""
        ),
        {"t": f'"{table}"'},
    )
    # A serial's sequence is handed over; an identity gets a new one (set after the copy).
    sequence = (
        op.get_bind().scalar(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table})
        if serial
        else None
    )
    columns = [
        name
        for (name,) in _rows(
            """SELECT attname FROM pg_attribute
                WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped
                  AND attgenerated = '' ORDER BY attnum""",
            t=f'"{table}"',
        )
    ]
    span = op.get_bind().execute(
        sa.text(f'SELECT min({KEY}), max({KEY}) FROM "{table}"')
    ).one()

    op.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    if sequence:
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY NONE")
    for name, _, _, _, is_constraint in indexes:
        if is_constraint:
            op.execute(f'ALTER TABLE "{old}" DROP CONSTRAINT "{name}"')
        else:
            op.execute(f'DROP INDEX "{name}"')
    for name, _ in outgoing:
        op.execute(f'ALTER TABLE "{old}" DROP CONSTRAINT "{name}"')

    partition_by = f" PARTITION BY RANGE ({KEY})" if partitioned else ""
    op.execute(
        f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
        f"INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS)"
        f"{partition_by}"
    )
    per_partition = []  # unique indexes that cannot contain the partition key
    if partitioned:
        now = datetime.now(UTC)
        first = span[0].year if span[0] is not None else now.year
        # Rows dated after the last year (clock errors) go to the DEFAULT partition.
        last = now.year + YEARS_AHEAD
        for year in range(first, last + 1):
            op.execute(_partition_sql(table, year))
        op.execute(f'CREATE TABLE "{table}_default" PARTITION OF "{table}" DEFAULT')
    # The rows first, then the keys and indexes (built once on the data: faster than maintained
    # row by row).
    names = ", ".join(f'"{column}"' for column in columns)
    op.execute(f'INSERT INTO "{table}" ({names}) SELECT {names} FROM "{old}"')
    primary_key = f"id, {KEY}" if partitioned else "id"
    op.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "pk_{table}" PRIMARY KEY ({primary_key})')
    for name, definition, unique, primary, is_constraint in indexes:
        if primary:
            continue
        if unique and partitioned and KEY not in definition.split(" USING ", 1)[1]:
            per_partition.append((name, definition))
            continue
        if is_constraint:
            column_list = definition.split(" USING btree ", 1)[1]
            op.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" UNIQUE {column_list}')
        else:
            op.execute(definition)

    for (partition,) in _rows(
        """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = CAST(:t AS regclass)""",
        t=f'"{table}"',
    ):
        # Each partition's index named after its parent's (plans then name the page's index).
        for index, parent in _rows(PARTITION_INDEXES, partition=f'"{partition}"'):
            if index != f"{partition}_{parent}"[:63]:
                op.execute(f'ALTER INDEX "{index}" RENAME TO "{f"{partition}_{parent}"[:63]}"')
    for name, definition in per_partition:
        on = f' ON {table} USING '
        on_schema = f" ON public.{table} USING "
        for (partition,) in _rows(
            """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = CAST(:t AS regclass)""",
            t=f'"{table}"',
        ):
            statement = definition.replace(f'INDEX {name} ', f'INDEX "{partition}_{name}" ', 1)
            statement = statement.replace(on_schema, f' ON "{partition}" USING ', 1).replace(
                on, f' ON "{partition}" USING ', 1
            )
            op.execute(statement)
    for name, definition in outgoing:
        op.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    if sequence:
        op.execute(f'ALTER SEQUENCE {sequence} OWNED BY "{table}".id')
    elif not serial:
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f'(SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)'
        )
    op.execute(f'DROP TABLE "{old}"')
    op.execute(f'ANALYZE "{table}"')  # the planner's statistics, parent and partitions
    return per_partition


def _message_key(table, composite):
    """The foreign key of ``table`` to message: composite (with its partition key) or simple."""
    name = f"fk_{table}_message_id_message"
    op.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"')
    if composite:
        op.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" '
            "FOREIGN KEY (message_id, message_created_at) REFERENCES message (id, created_at) "
            "MATCH FULL ON DELETE RESTRICT"
        )
    else:
        op.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" '
            "FOREIGN KEY (message_id) REFERENCES message (id) ON DELETE RESTRICT"
        )


def upgrade():
    for table in REFERENCING:
        op.add_column(table, sa.Column("message_created_at", sa.DateTime(timezone=True)))
        op.execute(
            f"UPDATE {table} SET message_created_at = (SELECT m.created_at FROM message m "
            f"WHERE m.id = {table}.message_id) WHERE message_id IS NOT NULL"
        )
    _category_check(CATEGORIES)
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in REFERENCING:
        op.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "fk_{table}_message_id_message"')
    for table in TABLES:
        _rebuild(table, partitioned=True)
    for table in REFERENCING:
        _message_key(table, composite=True)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in REFERENCING:
            op.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "fk_{table}_message_id_message"')
        for table in TABLES:
            _rebuild(table, partitioned=False)  # its partitions go with the old table
        op.execute(
            'ALTER TABLE message ADD CONSTRAINT "uq_message_submission_token" '
            "UNIQUE (submission_token)"
        )
        for table in REFERENCING:
            _message_key(table, composite=False)
    op.execute("DELETE FROM retention_item WHERE category IN ('partition', 'partition_kept')")
    _category_check(CATEGORIES_BEFORE)
    for table in REFERENCING:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("message_created_at")
