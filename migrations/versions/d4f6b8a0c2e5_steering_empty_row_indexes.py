"""steering: partial indexes on the rollup rows that came back to nothing

Revision ID: d4f6b8a0c2e5
Revises: a1d5c8e2f960
Create Date: 2026-12-02

Every fold of the steering journal deletes the rollup rows whose measures are all zero. Without
an index that DELETE read the whole of ``steering_duration`` and ``steering_count``: about 1.5 s
of PostgreSQL per fold on the national bench, charged to whatever request ran at that moment
(it made a submission look like 20 ms of SQL). Partial indexes on exactly those rows make it a
lookup of the few rows there are.
"""

import sqlalchemy as sa
from alembic import op

revision = "d4f6b8a0c2e5"
down_revision = "a1d5c8e2f960"
branch_labels = None
depends_on = None

COUNT_EMPTY = (
    "received = 0 AND answered = 0 AND closed = 0 AND on_time = 0 AND late_answered = 0"
    " AND withdrawn = 0"
)
INDEXES = (
    ("ix_steering_count_empty", "steering_count", "node_id", COUNT_EMPTY),
    ("ix_steering_duration_empty", "steering_duration", "node_id", "count = 0"),
    ("ix_steering_transfer_empty", "steering_transfer", "day", "count = 0"),
)


def upgrade():
    for name, table, column, where in INDEXES:
        op.create_index(
            name,
            table,
            [column],
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade():
    for name, table, _, _ in INDEXES:
        op.drop_index(name, table_name=table)
