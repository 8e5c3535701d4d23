"""perf: messages carry their office; the full-text indexes are scoped by office

Messages get ``office_id``, the office of their request (kept right by ``transfer_case``), and
the French full-text GIN indexes become composite ``(office_id, to_tsvector(...))`` indexes
(``btree_gin``, PostgreSQL's contrib), so that an agent's search reads its office's entries
and never the country's (decision 0016). An existing base is converted: the column is filled
from the requests, then made NOT NULL.

Revision ID: e8a1f0c2d9b4
Revises: d7e2a4b19c53
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "e8a1f0c2d9b4"
down_revision = "e5a1c7d93b20"
branch_labels = None
depends_on = None

_FRENCH = "to_tsvector('french'::regconfig, f_unaccent({}))"


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
    if postgresql:  # a join: one pass over both tables (5 M messages in minutes, not hours)
        op.execute('UPDATE message SET office_id = c.office_id FROM "case" c WHERE c.id = case_id')
    else:
        op.execute(
            'UPDATE message SET office_id = (SELECT "case".office_id FROM "case" '
            'WHERE "case".id = message.case_id)'
        )
    with op.batch_alter_table("message") as batch:
        batch.alter_column("office_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_message_office_id_office", "office", ["office_id"], ["id"], ondelete="RESTRICT"
        )
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        op.execute("DROP INDEX IF EXISTS ix_message_body_fts")
        op.execute("DROP INDEX IF EXISTS ix_case_subject_fts")
        op.execute(
            "CREATE INDEX ix_message_office_body_fts ON message "
            f"USING gin (office_id, {_FRENCH.format('body')})"
        )
        op.execute(
            'CREATE INDEX ix_case_office_subject_fts ON "case" '
            f"USING gin (office_id, {_FRENCH.format('subject')})"
        )
        op.execute("ANALYZE message")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_case_office_subject_fts")
        op.execute("DROP INDEX IF EXISTS ix_message_office_body_fts")
        op.execute(f'CREATE INDEX ix_case_subject_fts ON "case" USING gin ({_FRENCH.format("subject")})')
        op.execute(f"CREATE INDEX ix_message_body_fts ON message USING gin ({_FRENCH.format('body')})")
    with op.batch_alter_table("message") as batch:
        batch.drop_constraint("fk_message_office_id_office", type_="foreignkey")
        batch.drop_column("office_id")
