"""events: second-factor reset, directory import, setting changed, tag added or removed

Revision ID: b3d5f7a9c1e2
Revises: e5a1c7d93b20
Create Date: 2026-12-02

The directory's writers now record what administrators do (issue 14): an agent's second factor
reset, a CSV import applied, a run-time setting changed. The event kinds accept them (the CHECK
is rebuilt from the code's ``EventKind``, so every kind added before stays). Putting a tag on a
case or taking it off is now in the case's history too.
"""

import sqlalchemy as sa
from alembic import op

revision = "b3d5f7a9c1e2"
down_revision = "e5a1c7d93b20"
branch_labels = None
depends_on = None

NEW = (
    "agent_second_factor_reset",
    "directory_imported",
    "setting_changed",
    "tagged",
    "untagged",
)


def _event_kinds(values):
    with op.batch_alter_table(
        "event", reflect_args=[sa.Column("kind", sa.String(length=32), nullable=False)]
    ) as batch:
        batch.drop_constraint(op.f("ck_event_eventkind_values"), type_="check")
        batch.create_check_constraint("eventkind_values", sa.column("kind").in_(values))


def upgrade():
    from models.event import EventKind

    _event_kinds([kind.value for kind in EventKind])


def downgrade():
    from models.event import EventKind

    op.execute(sa.text("DELETE FROM event WHERE kind IN :kinds").bindparams(
        sa.bindparam("kinds", expanding=True, value=list(NEW))
    ))
    _event_kinds([kind.value for kind in EventKind if kind.value not in NEW])
