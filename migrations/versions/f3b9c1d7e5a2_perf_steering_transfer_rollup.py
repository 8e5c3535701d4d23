"""perf: transfers rolled up per office pair (steering_transfer)

The steering dashboard counted a delegation's transfers of three years from the transfer table
at every view. They are now summed per office pair, grain (day, month, year) and day, written
in the transfer's own transaction (app/steering/rollups.py); this fills the table from the
transfers already there.

Revision ID: f3b9c1d7e5a2
Revises: e8a1f0c2d9b4
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "f3b9c1d7e5a2"
down_revision = "e8a1f0c2d9b4"
branch_labels = None
depends_on = None


def _day(grain: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        unit = {"d": "day", "m": "month", "y": "year"}[grain]
        return f"CAST(date_trunc('{unit}', timezone('UTC', created_at)) AS DATE)"
    modifier = {"d": "", "m": ", 'start of month'", "y": ", 'start of year'"}[grain]
    return f"date(created_at{modifier})"


def upgrade():
    op.create_table(
        "steering_transfer",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("from_office_id", sa.Integer(), nullable=False),
        sa.Column("to_office_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "day", "from_office_id", "to_office_id"),
    )
    for grain in ("d", "m", "y"):
        day = _day(grain)
        op.execute(
            "INSERT INTO steering_transfer (grain, day, from_office_id, to_office_id, count) "
            f"SELECT '{grain}', {day}, from_office_id, to_office_id, count(*) FROM transfer "
            f"GROUP BY {day}, from_office_id, to_office_id"
        )


def downgrade():
    op.drop_table("steering_transfer")
