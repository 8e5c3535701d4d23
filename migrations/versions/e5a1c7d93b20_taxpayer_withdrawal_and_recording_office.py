"""taxpayer helper: withdrawn requests, the office that recorded a contact, their rollups

Revision ID: e5a1c7d93b20
Revises: a9c3e5f70b12
Create Date: 2026-12-02

- ``case.withdrawn_at``: the taxpayer withdrew the request before any answer (kept, closed);
- ``case.recording_office_id``: the office that recorded a phone, counter or letter contact, so
  that steering counts it in that office's volumes after it was forwarded (filled from the
  ``contact_recorded`` events already there);
- the steering journal tracks both, ``steering_count`` gets a ``withdrawn`` measure, and the
  rollups are rebuilt (a recorded contact's volume moves to the recording office);
- the event kinds accept ``withdrawn`` (the CHECK is rebuilt from the code's ``EventKind``).
"""

import sqlalchemy as sa
from alembic import op

revision = "e5a1c7d93b20"
down_revision = "a9c3e5f70b12"
branch_labels = None
depends_on = None


def _event_kinds(values):
    with op.batch_alter_table(
        "event", reflect_args=[sa.Column("kind", sa.String(length=32), nullable=False)]
    ) as batch:
        batch.drop_constraint(op.f("ck_event_eventkind_values"), type_="check")
        batch.create_check_constraint("eventkind_values", sa.column("kind").in_(values))


def upgrade():
    from models.event import EventKind

    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("recording_office_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            "fk_case_recording_office_id_office",
            "office",
            ["recording_office_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    op.execute(
        'UPDATE "case" SET recording_office_id = ('
        "SELECT event.office_id FROM event WHERE event.case_id = \"case\".id "
        "AND event.kind = 'contact_recorded' ORDER BY event.id LIMIT 1) "
        "WHERE \"case\".channel <> 'online'"
    )
    with op.batch_alter_table("steering_change") as batch:
        batch.add_column(sa.Column("recording_office_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(
            "steering_count",
            sa.Column("withdrawn", sa.Integer(), nullable=False, server_default="0"),
        )
        op.execute(
            "ALTER TABLE steering_count DROP CONSTRAINT pk_steering_count, "
            "ADD CONSTRAINT pk_steering_count PRIMARY KEY (node_id, grain, day, dimension, key) "
            "INCLUDE (received, answered, closed, on_time, late_answered, withdrawn)"
        )
    else:
        with op.batch_alter_table("steering_count") as batch:
            batch.add_column(
                sa.Column("withdrawn", sa.Integer(), nullable=False, server_default="0")
            )
    _event_kinds([kind.value for kind in EventKind])

    from app.steering import rollups

    rollups.rebuild_with(op.get_bind())


def downgrade():
    from models.event import EventKind

    op.execute("UPDATE event SET kind = 'closed' WHERE kind = 'withdrawn'")
    _event_kinds([kind.value for kind in EventKind if kind.value != "withdrawn"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE steering_count DROP CONSTRAINT pk_steering_count, "
            "ADD CONSTRAINT pk_steering_count PRIMARY KEY (node_id, grain, day, dimension, key) "
            "INCLUDE (received, answered, closed, on_time, late_answered)"
        )
    with op.batch_alter_table("steering_count") as batch:
        batch.drop_column("withdrawn")
    with op.batch_alter_table("steering_change") as batch:
        batch.drop_column("withdrawn_at")
        batch.drop_column("recording_office_id")
    with op.batch_alter_table("case") as batch:
        batch.drop_constraint("fk_case_recording_office_id_office", type_="foreignkey")
        batch.drop_column("withdrawn_at")
        batch.drop_column("recording_office_id")
