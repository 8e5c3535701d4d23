"""agentday: agents' notices and digest, tags, links between requests, closing outcomes, macros

Revision ID: e8a4c2d61f30
Revises: e5a91c3f7b20
Create Date: 2026-12-02

Issue 16 (the agent's day). New tables: agent_notice, agent_preference, agent_digest, tag,
case_tag, case_link, closing_outcome (with the national outcomes as reference data). Reply
templates get an optional action (macro) and outcome. Two event kinds (linked, merged) and one
outbox kind (agent_digest) widen their CHECK constraints.
"""

import sqlalchemy as sa
from alembic import op

revision = "e8a4c2d61f30"
down_revision = "e5a91c3f7b20"
branch_labels = None
depends_on = None

EVENT_KINDS = (
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
)
NEW_EVENT_KINDS = ("linked", "merged")
NOTIFICATION_KINDS = ("new_message", "email_confirmation", "password_reset", "sign_in_code")
NEW_NOTIFICATION_KINDS = ("agent_digest",)

# code, label, asks_text, position: offered for every topic.
NATIONAL_OUTCOMES = (
    ("answered", "Réponse apportée", False, 1),
    ("granted", "Demande satisfaite", False, 2),
    ("partly_granted", "Demande satisfaite en partie", False, 3),
    ("rejected", "Demande rejetée", False, 4),
    ("no_follow_up", "Sans suite (désistement, usager injoignable)", False, 5),
    ("other", "Autre", True, 99),
)


def _kind_check(values):
    return "kind IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _widen(table, constraint, old, new):
    """Replace the CHECK of an enum column (non-native enums: a VARCHAR with a CHECK)."""
    name = f"ck_{table}_{constraint}"
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.alter_column(
                "kind",
                existing_type=sa.Enum(
                    *old, name=constraint, native_enum=False, create_constraint=True, length=32
                ),
                type_=sa.Enum(
                    *new, name=constraint, native_enum=False, create_constraint=True, length=32
                ),
                existing_nullable=False,
            )
        return
    op.drop_constraint(op.f(name), table, type_="check")
    op.create_check_constraint(op.f(name), table, _kind_check(new))


def upgrade():
    _widen("event", "eventkind_values", EVENT_KINDS, EVENT_KINDS + NEW_EVENT_KINDS)
    _widen(
        "notification",
        "notificationkind_values",
        NOTIFICATION_KINDS,
        NOTIFICATION_KINDS + NEW_NOTIFICATION_KINDS,
    )
    op.create_table(
        "agent_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "new_case",
                "taxpayer_replied",
                "forwarded",
                "due_tomorrow",
                name="noticekind_values",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["ab_user.id"], name=op.f("fk_agent_notice_agent_id_ab_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_agent_notice_case_id_case"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_notice")),
        sa.UniqueConstraint("agent_id", "kind", "case_id", "day", name="uq_agent_notice_once"),
    )
    op.create_index(
        "ix_agent_notice_agent_read_created", "agent_notice", ["agent_id", "read_at", "created_at"]
    )
    op.create_index("ix_agent_notice_case", "agent_notice", ["case_id"])
    op.create_table(
        "agent_preference",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("daily_digest", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["ab_user.id"], name=op.f("fk_agent_preference_agent_id_ab_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agent_preference")),
    )
    op.create_table(
        "agent_digest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["ab_user.id"], name=op.f("fk_agent_digest_agent_id_ab_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"], ["notification.id"],
            name=op.f("fk_agent_digest_notification_id_notification"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_digest")),
        sa.UniqueConstraint("agent_id", "day", name="uq_agent_digest_agent_day"),
    )
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["office.id"], name=op.f("fk_tag_office_id_office"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag")),
        sa.UniqueConstraint("office_id", "name", name="uq_tag_office_name"),
    )
    op.create_table(
        "case_tag",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_tag_case_id_case"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tag.id"], name=op.f("fk_case_tag_tag_id_tag"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["ab_user.id"], name=op.f("fk_case_tag_agent_id_ab_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("case_id", "tag_id", name=op.f("pk_case_tag")),
    )
    op.create_index("ix_case_tag_tag_case", "case_tag", ["tag_id", "case_id"])
    op.create_table(
        "case_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("other_case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "related",
                "merged",
                name="caselinkkind_values",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("case_id <> other_case_id", name=op.f("ck_case_link_two_requests")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_link_case_id_case"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["other_case_id"], ["case.id"], name=op.f("fk_case_link_other_case_id_case"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["ab_user.id"], name=op.f("fk_case_link_agent_id_ab_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_link")),
        sa.UniqueConstraint("case_id", "other_case_id", name="uq_case_link_pair"),
    )
    op.create_index("ix_case_link_other", "case_link", ["other_case_id"])
    outcome = op.create_table(
        "closing_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=160), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("asks_text", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topic.id"], name=op.f("fk_closing_outcome_topic_id_topic"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closing_outcome")),
        sa.UniqueConstraint("code", name=op.f("uq_closing_outcome_code")),
    )
    op.create_index(
        op.f("ix_closing_outcome_topic_id"), "closing_outcome", ["topic_id"], unique=False
    )
    op.bulk_insert(
        outcome,
        [
            {
                "code": code,
                "label": label,
                "topic_id": None,
                "asks_text": asks_text,
                "position": position,
                "active": True,
            }
            for code, label, asks_text, position in NATIONAL_OUTCOMES
        ],
    )
    with op.batch_alter_table("reply_template") as batch:
        batch.add_column(
            sa.Column(
                "action",
                sa.Enum(
                    "answer",
                    "request_information",
                    "answer_and_close",
                    name="templateaction_values",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("closing_outcome_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_reply_template_closing_outcome_id_closing_outcome"),
            "closing_outcome",
            ["closing_outcome_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade():
    with op.batch_alter_table("reply_template") as batch:
        batch.drop_constraint(
            batch.f("fk_reply_template_closing_outcome_id_closing_outcome"), type_="foreignkey"
        )
        batch.drop_column("closing_outcome_id")
        batch.drop_constraint(batch.f("ck_reply_template_templateaction_values"), type_="check")
        batch.drop_column("action")
    op.drop_index(op.f("ix_closing_outcome_topic_id"), table_name="closing_outcome")
    op.drop_table("closing_outcome")
    op.drop_index("ix_case_link_other", table_name="case_link")
    op.drop_table("case_link")
    op.drop_index("ix_case_tag_tag_case", table_name="case_tag")
    op.drop_table("case_tag")
    op.drop_table("tag")
    op.drop_table("agent_digest")
    op.drop_table("agent_preference")
    op.drop_index("ix_agent_notice_case", table_name="agent_notice")
    op.drop_index("ix_agent_notice_agent_read_created", table_name="agent_notice")
    op.drop_table("agent_notice")
    op.execute("DELETE FROM notification WHERE kind IN ('agent_digest')")
    _widen(
        "notification",
        "notificationkind_values",
        NOTIFICATION_KINDS + NEW_NOTIFICATION_KINDS,
        NOTIFICATION_KINDS,
    )
    # Events are evidence: a downgrade refuses to drop them (delete them by hand if you must).
    _widen("event", "eventkind_values", EVENT_KINDS + NEW_EVENT_KINDS, EVENT_KINDS)
