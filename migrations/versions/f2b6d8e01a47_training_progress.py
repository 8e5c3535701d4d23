"""training: the agents' course record (training_progress)

Revision ID: f2b6d8e01a47
Revises: c4e6a8b0d2f4
Create Date: 2026-12-02

One row per agent and exercise of the training space (e-formation). The training data itself
lives in a separate store (a SQLite file or the PostgreSQL schema ``formation``), built by
``flask econtacts training reset``, never by a migration (docs/decisions/0020).
"""

import sqlalchemy as sa
from alembic import op

revision = "f2b6d8e01a47"
down_revision = "c4e6a8b0d2f4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "training_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("exercise", sa.String(length=40), nullable=False),
        sa.Column("generation", sa.String(length=32), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["ab_user.id"],
            name=op.f("fk_training_progress_agent_id_ab_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_progress")),
        sa.UniqueConstraint("agent_id", "exercise", name="uq_training_progress_agent_exercise"),
    )


def downgrade():
    op.drop_table("training_progress")
