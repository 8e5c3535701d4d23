"""drop ab_user.sessions_ended_at: the server-side sessions end an agent's sessions

Revision ID: c4e6a8b0d2f4
Revises: b3d5f7a9c1e2
Create Date: 2026-12-02

Two mechanisms ended an agent's sessions: the server-side ``login_session`` rows (every request
checks its token, issue 20) and a timestamp on the agent compared with the cookie's start. The
first alone is enough (a cookie without a live token signs nobody in); the second is dropped.
"""

import sqlalchemy as sa
from alembic import op

revision = "c4e6a8b0d2f4"
down_revision = "b3d5f7a9c1e2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ab_user") as batch:
        batch.drop_column("sessions_ended_at")


def downgrade():
    with op.batch_alter_table("ab_user") as batch:
        batch.add_column(sa.Column("sessions_ended_at", sa.DateTime(timezone=True), nullable=True))
