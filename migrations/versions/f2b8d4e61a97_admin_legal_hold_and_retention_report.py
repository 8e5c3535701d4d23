"""admin: legal hold on a taxpayer, and the report of each retention run

Revision ID: f2b8d4e61a97
Revises: e5a1c7d20f31
Create Date: 2026-12-02

A hold can now be placed on a taxpayer as well as on a request (issue 22); retention skips both.
Each retention run writes its report: counts, and per category the references of the requests
archived, purged, thinned of their notes or skipped under hold (never their contents).
"""

import sqlalchemy as sa
from alembic import op

revision = "f2b8d4e61a97"
down_revision = "e5a1c7d20f31"
branch_labels = None
depends_on = None

CATEGORIES = ("archived", "purged", "notes", "held")


def upgrade():
    with op.batch_alter_table("taxpayer") as batch_op:
        batch_op.add_column(
            sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "retention_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archive_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purge_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived", sa.Integer(), nullable=False),
        sa.Column("purged_cases", sa.Integer(), nullable=False),
        sa.Column("purged_messages", sa.Integer(), nullable=False),
        sa.Column("purged_attachments", sa.Integer(), nullable=False),
        sa.Column("purged_notes", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_run")),
    )
    op.create_index(
        op.f("ix_retention_run_started_at"), "retention_run", ["started_at"], unique=False
    )
    op.create_table(
        "retention_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                *CATEGORIES,
                name="retentioncategory_values",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("attachments", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["retention_run.id"],
            name=op.f("fk_retention_item_run_id_retention_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_item")),
    )
    op.create_index(
        "ix_retention_item_run_category",
        "retention_item",
        ["run_id", "category", "id"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_retention_item_run_category", table_name="retention_item")
    op.drop_table("retention_item")
    op.drop_index(op.f("ix_retention_run_started_at"), table_name="retention_run")
    op.drop_table("retention_run")
    with op.batch_alter_table("taxpayer") as batch_op:
        batch_op.drop_column("legal_hold")
