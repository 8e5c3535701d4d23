"""steering rollups: per-node yearly, monthly and daily figures, and their journal

Revision ID: d7e2a4b19c53
Revises: c4d2f8a61e07
Create Date: 2026-11-26

A delegation's dashboard over three years read its million requests (6 s on the national bench
dataset). The figures now come from rollups kept exact by a journal (app/steering/rollups.py,
docs/steering.md "Rollups"). The tables are filled from the requests already there. The open
backlog of a subtree gets its own covering partial index.
"""

import sqlalchemy as sa
from alembic import op

revision = "d7e2a4b19c53"
down_revision = "c4d2f8a61e07"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "steering_count",
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=12), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("late_answered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "grain", "day", "dimension", "key"),
    )
    op.create_table(
        "steering_duration",
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(length=12), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "grain", "day", "measure", "bucket"),
    )
    op.create_table(
        "steering_change",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sign", sa.SmallInteger(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("tax_matter_id", sa.Integer(), nullable=True),
        sa.Column("first_answer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # The primary keys carry the measures: a dashboard's range scans read the index alone.
        op.execute(
            "ALTER TABLE steering_count DROP CONSTRAINT pk_steering_count, "
            "ADD CONSTRAINT pk_steering_count PRIMARY KEY (node_id, grain, day, dimension, key) "
            "INCLUDE (received, answered, closed, on_time, late_answered)"
        )
        op.execute(
            "ALTER TABLE steering_duration DROP CONSTRAINT pk_steering_duration, "
            "ADD CONSTRAINT pk_steering_duration PRIMARY KEY (node_id, grain, day, measure, bucket) "
            "INCLUDE (count, hours)"
        )
    # The open backlog of a subtree (ages, awaiting the taxpayer, overdue), from the index alone.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            'CREATE INDEX ix_case_open_office_steering ON "case" (office_id, received_at) '
            "INCLUDE (status, first_answer_at, closed_at, due_at) WHERE status <> 'closed'"
        )
    else:
        op.create_index(
            "ix_case_open_office_steering",
            "case",
            ["office_id", "received_at"],
            sqlite_where=sa.text("status <> 'closed'"),
        )
    # Fill the rollups from the requests already there (app.steering.rollups.rebuild, in SQL).
    # The code of today may track columns a later migration adds: that migration rebuilds them.
    from app.steering import rollups

    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("case")}
    if set(rollups.TRACKED) <= columns:
        rollups.rebuild_with(op.get_bind(), transfers=False)  # that table comes later


def downgrade():
    op.drop_index("ix_case_open_office_steering", table_name="case")
    op.drop_table("steering_change")
    op.drop_table("steering_duration")
    op.drop_table("steering_count")
