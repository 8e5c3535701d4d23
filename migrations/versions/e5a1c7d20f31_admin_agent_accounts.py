"""admin: agent accounts (lock until, forced change, sessions ended) and new event kinds

Revision ID: e5a1c7d20f31
Revises: e8a4c2d61f30
Create Date: 2026-12-02

The lock of an agent's account was computed from ``changed_on`` (any edit of the card moved it);
it is now its own column, which an administrator lifts (issue 22). An administrator's password
reset forces a change at the next sign-in and ends the agent's sessions. New event kinds record
the unlock, the reset and legal holds. A lock running when this is applied ends; the failed
count is kept, so the next wrong password locks the account again.
"""

import sqlalchemy as sa
from alembic import op

revision = "e5a1c7d20f31"
down_revision = "e8a4c2d61f30"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "received",
    "contact_recorded",
    "taxpayer_replied",
    "answered",
    "information_requested",
    "note_added",
    "assigned",
    "transferred",
    "transfer_acknowledged",
    "status_changed",
    "closed",
    "reopened",
    "attached_to_taxpayer",
    "archived",
    # issue 16 (migration e8a4c2d61f30, before this one)
    "linked",
    "merged",
)
NEW_KINDS = (
    "legal_hold_placed",
    "legal_hold_lifted",
    "agent_unlocked",
    "agent_password_reset",
)


def _set_event_kinds(kinds: tuple[str, ...]) -> None:
    """Replace the CHECK of ``event.kind``. SQLite does not let batch mode copy CHECKs: the
    table is rebuilt with ``kind`` as plain text, then the new CHECK is added."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    name = op.f("ck_event_eventkind_values")
    with op.batch_alter_table(
        "event",
        recreate="always" if sqlite else "auto",
        reflect_args=[sa.Column("kind", sa.String(length=32), nullable=False)],
    ) as batch_op:
        if not sqlite:
            batch_op.drop_constraint(name, type_="check")
        batch_op.create_check_constraint(name, sa.column("kind").in_(kinds))


def upgrade():
    with op.batch_alter_table("ab_user") as batch_op:
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("sessions_ended_at", sa.DateTime(timezone=True), nullable=True)
        )
    _set_event_kinds(OLD_KINDS + NEW_KINDS)


def downgrade():
    op.execute(sa.text("DELETE FROM event WHERE kind IN :kinds").bindparams(
        sa.bindparam("kinds", expanding=True, value=list(NEW_KINDS))
    ))
    _set_event_kinds(OLD_KINDS)
    with op.batch_alter_table("ab_user") as batch_op:
        batch_op.drop_column("sessions_ended_at")
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("locked_until")
