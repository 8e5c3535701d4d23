"""perf: messages carry their office; the full-text search reads one office's entries

Messages get ``office_id``, the office of their case (kept right by ``transfer_case`` and by a
merge), filled from the cases on an existing base, then NOT NULL.

On PostgreSQL the French full-text documents become stored generated columns,
``case.search_vector`` and ``message.search_vector``, whose lexemes are prefixed with the
office id (``'77:impot'``, by the immutable function ``office_tsvector(office_id, text)``), each
with a plain GIN index (``ix_case_search_vector``, ``ix_message_search_vector``). A search
builds its query with ``office_tsquery(office_id, words)``: the index's posting lists are the
office's own, so the cost of a search follows the office and never how common a word is in
the country, and the column's statistics give the planner each word's frequency in the office
(decision 0016). The expression GIN indexes of ``agent_inbox_and_search_indexes`` go.

Self-contained on purpose: a table converted to a partitioned one keeps the column (generated
columns are allowed on partitioned tables, the partitions compute it) and the index (created
on the parent, it is created on each partition). SQLite has neither: it searches with LIKE.

Revision ID: e8a1f0c2d9b4
Revises: f9d3b6a2c418
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "e8a1f0c2d9b4"
down_revision = "f9d3b6a2c418"
branch_labels = None
depends_on = None

# Keep identical to app.cases.search (OFFICE_TSVECTOR_SQL, OFFICE_TSQUERY_SQL).
OFFICE_TSVECTOR = r"""
CREATE OR REPLACE FUNCTION office_tsvector(office integer, document text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(string_agg(
           '''' || replace(replace(office || ':' || lexeme, '\', '\\'), '''', '''''') || ''''
           || coalesce(':' || array_to_string(positions, ','), ''), ' '), '')::tsvector
  FROM unnest(to_tsvector('french'::regconfig, public.f_unaccent(coalesce(document, ''))))
$$
"""
OFFICE_TSQUERY = r"""
CREATE OR REPLACE FUNCTION office_tsquery(office integer, words text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT regexp_replace(
           websearch_to_tsquery('french'::regconfig, public.f_unaccent(words))::text,
           '''((?:[^'']|'''')*)''', '''' || office || ':\1''', 'g')::tsquery
$$
"""
_OLD = "to_tsvector('french'::regconfig, f_unaccent({}))"


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
    if not postgresql:
        return
    op.execute(OFFICE_TSVECTOR)
    op.execute(OFFICE_TSQUERY)
    op.execute("DROP INDEX IF EXISTS ix_message_body_fts")
    op.execute("DROP INDEX IF EXISTS ix_case_subject_fts")
    for table, column in (('"case"', "subject"), ("message", "body")):
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS (office_tsvector(office_id, {column})) STORED"
        )
    for table in ('"case"', "message"):  # the planner's frequency of each office's words
        op.execute(f"ALTER TABLE {table} ALTER COLUMN search_vector SET STATISTICS 1000")
    op.execute('CREATE INDEX ix_case_search_vector ON "case" USING gin (search_vector)')
    op.execute("CREATE INDEX ix_message_search_vector ON message USING gin (search_vector)")
    op.execute('ANALYZE "case"')
    op.execute("ANALYZE message")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE "case" DROP COLUMN search_vector')
        op.execute("ALTER TABLE message DROP COLUMN search_vector")
        # CASCADE: the training store's copies of the tables (schema ``formation``, built from
        # the models, decision 0020) have the generated column too; they lose it here and the
        # store is rebuilt from the models at its next reset.
        op.execute("DROP FUNCTION IF EXISTS office_tsquery(integer, text) CASCADE")
        op.execute("DROP FUNCTION IF EXISTS office_tsvector(integer, text) CASCADE")
        op.execute(
            f'CREATE INDEX ix_case_subject_fts ON "case" USING gin ({_OLD.format("subject")})'
        )
        op.execute(f"CREATE INDEX ix_message_body_fts ON message USING gin ({_OLD.format('body')})")
    with op.batch_alter_table("message") as batch:
        batch.drop_constraint("fk_message_office_id_office", type_="foreignkey")
        batch.drop_column("office_id")
