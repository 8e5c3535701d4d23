"""correspondents: e-mail alert to a directorate's correspondents when a difficulty is reported

Revision ID: c8e2a4f6b1d3
Revises: f3b9c1d7e5a2
Create Date: 2026-12-02

The CHECK of ``notification.kind`` is rebuilt from the code's enum (``NotificationKind``, now
with ``report_filed``), so every value the code knows is kept (as in f9d3b6a2c418).
"""

import sqlalchemy as sa
from alembic import op

revision = "c8e2a4f6b1d3"
down_revision = "f3b9c1d7e5a2"
branch_labels = None
depends_on = None

NEW_KIND = "report_filed"


def _notification_kinds(values):
    """Rebuild the CHECK of ``notification.kind`` with ``values``."""
    name = "ck_notification_notificationkind_values"
    condition = sa.column("kind").in_(values)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a constraint: the table is rebuilt (batch mode).
        with op.batch_alter_table(
            "notification", reflect_args=[sa.Column("kind", sa.String(length=32), nullable=False)]
        ) as batch:
            batch.drop_constraint(op.f(name), type_="check")
            batch.create_check_constraint("notificationkind_values", condition)
        return
    op.drop_constraint(op.f(name), "notification", type_="check")
    op.create_check_constraint(op.f(name), "notification", condition)


def upgrade():
    from models import NotificationKind

    _notification_kinds([k.value for k in NotificationKind])


def downgrade():
    from models import NotificationKind

    op.execute(f"DELETE FROM notification WHERE kind = '{NEW_KIND}'")
    _notification_kinds([k.value for k in NotificationKind if k.value != NEW_KIND])
