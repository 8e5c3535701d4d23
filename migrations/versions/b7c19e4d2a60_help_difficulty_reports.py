"""help helper: departmental correspondents' difficulty reports

Revision ID: b7c19e4d2a60
Revises: f2b6d8e01a47
Create Date: 2026-12-02

- ``difficulty_report``: what an agent reported (theme, description, the page, optionally a
  request they may open), the directorate it goes to, the answer, raised to the national level,
  closed;
- the event kinds accept ``report_filed``, ``report_answered``, ``report_raised`` and
  ``report_closed`` (the CHECK is rebuilt from the code's ``EventKind``, so every kind is kept);
- the role ``correspondent`` is created by ``flask econtacts sync-roles`` (roles are data).
"""

import sqlalchemy as sa
from alembic import op

revision = "b7c19e4d2a60"
down_revision = "f2b6d8e01a47"
branch_labels = None
depends_on = None

THEMES = ("tool", "procedure", "access", "training", "other")
STATUSES = ("open", "answered", "raised", "closed")
NEW_KINDS = ("report_filed", "report_answered", "report_raised", "report_closed")


def _event_kinds(values):
    with op.batch_alter_table(
        "event", reflect_args=[sa.Column("kind", sa.String(length=32), nullable=False)]
    ) as batch:
        batch.drop_constraint(op.f("ck_event_eventkind_values"), type_="check")
        batch.create_check_constraint("eventkind_values", sa.column("kind").in_(values))


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade():
    from models.event import EventKind

    op.create_table(
        "difficulty_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("directorate_id", sa.Integer(), nullable=True),
        sa.Column("theme", _enum(THEMES, "reporttheme_values"), nullable=False),
        sa.Column("status", _enum(STATUSES, "reportstatus_values"), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("page_url", sa.String(length=500), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("raise_reason", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["ab_user.id"],
            name=op.f("fk_difficulty_report_reporter_id_ab_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            name=op.f("fk_difficulty_report_office_id_office"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["directorate_id"],
            ["office.id"],
            name=op.f("fk_difficulty_report_directorate_id_office"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
            name=op.f("fk_difficulty_report_case_id_case"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["ab_user.id"],
            name=op.f("fk_difficulty_report_answered_by_id_ab_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_difficulty_report")),
    )
    op.create_index(
        "ix_difficulty_report_directorate_status",
        "difficulty_report",
        ["directorate_id", "status", "reported_at"],
    )
    op.create_index(
        "ix_difficulty_report_reporter", "difficulty_report", ["reporter_id", "reported_at"]
    )
    op.create_index("ix_difficulty_report_status", "difficulty_report", ["status", "reported_at"])
    _event_kinds([kind.value for kind in EventKind])


def downgrade():
    from models.event import EventKind

    op.execute(
        "DELETE FROM event WHERE kind IN ("
        + ", ".join(f"'{kind}'" for kind in NEW_KINDS)
        + ")"
    )
    _event_kinds([kind.value for kind in EventKind if kind.value not in NEW_KINDS])
    op.drop_index("ix_difficulty_report_status", table_name="difficulty_report")
    op.drop_index("ix_difficulty_report_reporter", table_name="difficulty_report")
    op.drop_index("ix_difficulty_report_directorate_status", table_name="difficulty_report")
    op.drop_table("difficulty_report")
