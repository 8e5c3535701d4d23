"""reliability: undeliverable taxpayer addresses, worker heartbeats

Revision ID: e5a91c3f7b20
Revises: e20a5ec0a001
Create Date: 2026-12-02

Issue 21. A taxpayer's address refused for good by the mail server is recorded on the taxpayer
(shown to them at sign-in and to agents on the summary sheet); each worker process writes a
heartbeat row that `flask econtacts status` and the administrators' outbox page read.
"""

import sqlalchemy as sa
from alembic import op

revision = "e5a91c3f7b20"
down_revision = "e20a5ec0a001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("taxpayer") as batch:
        batch.add_column(sa.Column("email_undeliverable_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("email_undeliverable_reason", sa.Text()))
    op.create_table(
        "worker_heartbeat",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("redis_ok", sa.Boolean(), nullable=False),
        sa.Column("sweep_seconds", sa.Integer(), nullable=False),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("sent_directly", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade():
    op.drop_table("worker_heartbeat")
    with op.batch_alter_table("taxpayer") as batch:
        batch.drop_column("email_undeliverable_reason")
        batch.drop_column("email_undeliverable_at")
