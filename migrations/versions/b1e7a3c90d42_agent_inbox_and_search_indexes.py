"""agent inbox and search indexes

One index per list order of the office inbox (partial indexes: each holds only the rows of its
tab, on SQLite and PostgreSQL alike), and on PostgreSQL the French full-text search of the
agents' search: ``to_tsvector('french', f_unaccent(...))`` GIN expression indexes over the
requests' subjects and the messages' bodies. ``unaccent`` is not IMMUTABLE, so it is wrapped in
the customary immutable SQL function ``f_unaccent`` that an index may use. The expressions must
stay identical to ``app.cases.search.text_document``.

Revision ID: b1e7a3c90d42
Revises: 3f0a5db6c64b
Create Date: 2026-11-27 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b1e7a3c90d42"
down_revision = "3f0a5db6c64b"
branch_labels = None
depends_on = None

OPEN = "status <> 'closed'"


def _forwarded() -> str:
    # The predicate is written as the inbox query renders it on each dialect.
    if op.get_bind().dialect.name == "postgresql":
        return "awaiting_acknowledgement = true"
    return "awaiting_acknowledgement = 1"


def _partial(name: str, columns: list[str], where: str) -> None:
    op.create_index(
        name,
        "case",
        columns,
        unique=False,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


def upgrade():
    # "Toutes les ouvertes", oldest first, and sorted by due date.
    _partial("ix_case_open_office_received", ["office_id", "received_at", "id"], OPEN)
    _partial("ix_case_open_office_due", ["office_id", "due_at", "id"], OPEN)
    # "Nouvelles et non attribuées".
    _partial(
        "ix_case_unassigned_office_received",
        ["office_id", "received_at", "id"],
        f"assignee_id IS NULL AND {OPEN}",
    )
    # "Mes demandes".
    _partial(
        "ix_case_open_office_assignee_received",
        ["office_id", "assignee_id", "received_at", "id"],
        OPEN,
    )
    # "Transmises à prendre en compte".
    _partial("ix_case_forwarded_office_received", ["office_id", "received_at", "id"], _forwarded())
    # "En attente de l'usager" and "Clôturées" use ix_case_office_status_received.

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        op.execute(
            "CREATE OR REPLACE FUNCTION f_unaccent(text) RETURNS text "
            "LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS "
            "$$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$"
        )
        op.execute(
            'CREATE INDEX ix_case_subject_fts ON "case" '
            "USING gin (to_tsvector('french'::regconfig, f_unaccent(subject)))"
        )
        op.execute(
            "CREATE INDEX ix_message_body_fts ON message "
            "USING gin (to_tsvector('french'::regconfig, f_unaccent(body)))"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_message_body_fts")
        op.execute("DROP INDEX IF EXISTS ix_case_subject_fts")
        op.execute("DROP FUNCTION IF EXISTS f_unaccent(text)")
    for name in (
        "ix_case_forwarded_office_received",
        "ix_case_open_office_assignee_received",
        "ix_case_unassigned_office_received",
        "ix_case_open_office_due",
        "ix_case_open_office_received",
    ):
        op.drop_index(name, table_name="case")
