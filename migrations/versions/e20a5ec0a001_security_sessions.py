"""security (issue 20): server-side sign-in sessions, taxpayer activation data

Revision ID: e20a5ec0a001
Revises: d7e2a4b19c53
Create Date: 2026-12-02

A copied session cookie kept working after its logout: sessions now live on the server too
(app/sessions.py, docs/security.md "Sessions"). The table keeps the SHA-256 of each cookie's
token, its owner (an agent or a taxpayer) and when and why it ended.

A taxpayer known from a counter visit could activate an online space with the tax number and the
surname: activation now asks for the online access number and, for individuals, the reference tax
income of the last notice, kept for each taxpayer (docs/decisions/0014).
"""

import sqlalchemy as sa
from alembic import op


revision = "e20a5ec0a001"
down_revision = "d7e2a4b19c53"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("taxpayer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("ended_reason", sa.String(length=20), nullable=True),
        sa.CheckConstraint(
            "(agent_id IS NULL) <> (taxpayer_id IS NULL)", name="ck_login_session_one_owner"
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["ab_user.id"],
            name="fk_login_session_agent_id_ab_user",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["taxpayer_id"],
            ["taxpayer.id"],
            name="fk_login_session_taxpayer_id_taxpayer",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_login_session"),
    )
    op.create_index("ix_login_session_agent_id", "login_session", ["agent_id"])
    op.create_index("ix_login_session_taxpayer_id", "login_session", ["taxpayer_id"])
    with op.batch_alter_table("taxpayer") as batch_op:
        batch_op.add_column(sa.Column("access_number_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reference_income", sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("taxpayer") as batch_op:
        batch_op.drop_column("reference_income")
        batch_op.drop_column("access_number_digest")
    op.drop_index("ix_login_session_taxpayer_id", table_name="login_session")
    op.drop_index("ix_login_session_agent_id", table_name="login_session")
    op.drop_table("login_session")
