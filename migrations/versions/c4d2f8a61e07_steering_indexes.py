"""steering and summary-sheet indexes

Revision ID: c4d2f8a61e07
Revises: b1e7a3c90d42
Create Date: 2026-11-26

The steering figures read, per office of a subtree, the requests received in a period; the index
carries the columns the aggregates need, so PostgreSQL answers from the index alone. The open
backlog uses the agent inbox's partial index (ix_case_open_office_received).

The summary sheet pages one taxpayer's timeline newest first on (received_at, id).
"""

from alembic import op

revision = "c4d2f8a61e07"
down_revision = "b1e7a3c90d42"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            'CREATE INDEX ix_case_office_received_steering ON "case" (office_id, received_at) '
            "INCLUDE (channel, topic_id, tax_matter_id, status, first_answer_at, closed_at, "
            "due_at)"
        )
    else:
        op.create_index("ix_case_office_received_steering", "case", ["office_id", "received_at"])
    op.create_index("ix_case_taxpayer_received", "case", ["taxpayer_id", "received_at", "id"])


def downgrade():
    op.drop_index("ix_case_taxpayer_received", table_name="case")
    op.drop_index("ix_case_office_received_steering", table_name="case")
