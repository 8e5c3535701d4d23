"""security (issue 20): server-side sign-in sessions

Revision ID: e20a5ec0a001
Revises: d7e2a4b19c53
Create Date: 2026-12-02

A copied session cookie kept working after its logout: sessions now live on the server too
(app/sessions.py, docs/security.md "Sessions"). The table keeps the SHA-256 of each cookie's
token, its owner (an agent or a taxpayer) and when and why it ended.
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


def downgrade():
    op.drop_index("ix_login_session_taxpayer_id", table_name="login_session")
    op.drop_index("ix_login_session_agent_id", table_name="login_session")
    op.drop_table("login_session")
