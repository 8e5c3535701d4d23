"""admin: office kinds as directory data; routing rules to a kind or to one office

Revision ID: a9c3e5f70b12
Revises: f2b8d4e61a97
Create Date: 2026-12-02

Office kinds were a fixed list in the code (issue 22). They become rows of ``office_kind`` with
what offices of each kind may do; the ten existing kinds are created with the behaviour the code
gave them (directorates and delegations steer and receive nothing; every other kind receives
online requests and transfers and records contacts; SIP and SIE are routing's defaults for
individuals and businesses; contact centres its last resort). ``office.kind`` and
``routing_rule.office_kind`` (codes) become foreign keys to those rows; a routing rule may point
to one office instead of a kind.
"""

import sqlalchemy as sa
from alembic import op

revision = "a9c3e5f70b12"
down_revision = "f2b8d4e61a97"
branch_labels = None
depends_on = None

# code, label, receives online and transfers and records contacts, steering level, default for,
# last resort
KINDS = (
    ("delegation", "Délégation interrégionale", False, 2, None, False),
    ("directorate", "Direction locale", False, 1, None, False),
    ("sip", "Service des impôts des particuliers", True, 0, "individual", False),
    ("sie", "Service des impôts des entreprises", True, 0, "business", False),
    ("cdif", "Centre des impôts fonciers", True, 0, None, False),
    ("cis", "Centre impôts service", True, 0, None, False),
    ("cps", "Centre prélèvement service", True, 0, None, False),
    ("contact_centre", "Centre de contact", True, 0, None, True),
    ("treasury", "Trésorerie de proximité", True, 0, None, False),
    ("large_companies", "IFU de la DGE", True, 0, None, False),
)
CODES = tuple(kind[0] for kind in KINDS)
TAXPAYER_KINDS = ("individual", "business")


def _taxpayer_kind() -> sa.Enum:
    return sa.Enum(
        *TAXPAYER_KINDS,
        name="taxpayerkind_values",
        native_enum=False,
        create_constraint=True,
        length=32,
    )


def upgrade():
    kind_table = op.create_table(
        "office_kind",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=160), nullable=False),
        sa.Column("receives_online", sa.Boolean(), nullable=False),
        sa.Column("receives_transfers", sa.Boolean(), nullable=False),
        sa.Column("records_contacts", sa.Boolean(), nullable=False),
        sa.Column("steering_level", sa.Integer(), nullable=False),
        sa.Column("default_for", _taxpayer_kind(), nullable=True),
        sa.Column("last_resort", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_kind")),
        sa.UniqueConstraint("code", name=op.f("uq_office_kind_code")),
    )
    op.bulk_insert(
        kind_table,
        [
            {
                "id": number,
                "code": code,
                "label": label,
                "receives_online": handles,
                "receives_transfers": handles,
                "records_contacts": handles,
                "steering_level": level,
                "default_for": default_for,
                "last_resort": last_resort,
                "active": True,
            }
            for number, (code, label, handles, level, default_for, last_resort) in enumerate(
                KINDS, start=1
            )
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval('office_kind_id_seq', (SELECT max(id) FROM office_kind))")

    kind_of = "(SELECT office_kind.id FROM office_kind WHERE office_kind.code = {column})"

    # Offices: kind (a code under a CHECK) -> kind_id (a foreign key).
    with op.batch_alter_table("office") as batch_op:
        batch_op.add_column(sa.Column("kind_id", sa.Integer(), nullable=True))
    op.execute(f"UPDATE office SET kind_id = {kind_of.format(column='office.kind')}")
    with op.batch_alter_table("office") as batch_op:
        batch_op.drop_constraint(op.f("ck_office_officekind_values"), type_="check")
        batch_op.drop_column("kind")
        batch_op.alter_column("kind_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_office_kind_id_office_kind"),
            "office_kind",
            ["kind_id"],
            ["id"],
            ondelete="RESTRICT",
        )

    # Routing rules: office_kind (a code) -> office_kind_id, or office_id (one given office).
    with op.batch_alter_table("routing_rule") as batch_op:
        batch_op.add_column(sa.Column("office_kind_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE routing_rule SET office_kind_id = "
        + kind_of.format(column="routing_rule.office_kind")
    )
    with op.batch_alter_table("routing_rule") as batch_op:
        batch_op.drop_constraint(op.f("ck_routing_rule_officekind_values"), type_="check")
        batch_op.drop_column("office_kind")
        batch_op.create_foreign_key(
            op.f("fk_routing_rule_office_kind_id_office_kind"),
            "office_kind",
            ["office_kind_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            op.f("fk_routing_rule_office_id_office"),
            "office",
            ["office_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_check_constraint(
            op.f("ck_routing_rule_kind_or_office"),
            sa.text("office_kind_id IS NOT NULL OR office_id IS NOT NULL"),
        )


def downgrade():
    # Kinds created on screen have no code column to go back to: offices of such kinds, and
    # rules to one office, cannot be represented; the downgrade refuses rather than lose them.
    bind = op.get_bind()
    unknown = bind.execute(
        sa.text(
            "SELECT count(*) FROM office o JOIN office_kind k ON k.id = o.kind_id "
            "WHERE k.code NOT IN :codes"
        ).bindparams(sa.bindparam("codes", expanding=True, value=list(CODES)))
    ).scalar()
    to_office = bind.execute(
        sa.text("SELECT count(*) FROM routing_rule WHERE office_kind_id IS NULL")
    ).scalar()
    if unknown or to_office:
        raise RuntimeError(
            f"{unknown} office(s) of a kind created on screen and {to_office} routing rule(s) "
            "to one office: change them before downgrading"
        )
    code_of = "(SELECT office_kind.code FROM office_kind WHERE office_kind.id = {column})"

    with op.batch_alter_table("routing_rule") as batch_op:
        batch_op.add_column(sa.Column("office_kind", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE routing_rule SET office_kind = "
        + code_of.format(column="routing_rule.office_kind_id")
    )
    with op.batch_alter_table("routing_rule") as batch_op:
        batch_op.drop_constraint(op.f("ck_routing_rule_kind_or_office"), type_="check")
        batch_op.drop_constraint(
            op.f("fk_routing_rule_office_kind_id_office_kind"), type_="foreignkey"
        )
        batch_op.drop_constraint(op.f("fk_routing_rule_office_id_office"), type_="foreignkey")
        batch_op.drop_column("office_id")
        batch_op.drop_column("office_kind_id")
        batch_op.alter_column("office_kind", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_routing_rule_officekind_values"), sa.column("office_kind").in_(CODES)
        )

    with op.batch_alter_table("office") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=32), nullable=True))
    op.execute(f"UPDATE office SET kind = {code_of.format(column='office.kind_id')}")
    with op.batch_alter_table("office") as batch_op:
        batch_op.drop_constraint(op.f("fk_office_kind_id_office_kind"), type_="foreignkey")
        batch_op.drop_column("kind_id")
        batch_op.alter_column("kind", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_office_officekind_values"), sa.column("kind").in_(CODES)
        )
    op.drop_table("office_kind")
