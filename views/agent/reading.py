"""How the agents' busiest pages (the inbox, a case's page) read: column rows, and statements
built once.

Both pages read plain columns, never ORM objects, and print them (issue 17: the CPU per request).
Two things cost more than PostgreSQL's work on such reads and are done once here:

- building the SELECT (``BuiltStatements``): a statement of subqueries and clauses takes longer
  to build than to run; it is built once per shape and reused;
- the ORM's execution layer (``read``): a statement that loads no object goes straight to the
  session's connection, in the session's transaction, without the ORM's per-statement work
  (about 0.2 ms each). The session's ``do_orm_execute`` listeners do not apply there: they note
  writes (app.platform.cache) and route the steering pages' reads to the replica
  (app.platform.replica), neither of which concerns these reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select
from sqlalchemy.engine import Result

from models import db


def read(statement: Select[*tuple[Any, ...]]) -> Result[*tuple[Any, ...]]:
    """The rows of a column-only SELECT, on the session's connection and transaction."""
    return db.session.connection().execute(statement)


def read_with(statement: Select[*tuple[Any, ...]], **parameters: Any) -> Result[*tuple[Any, ...]]:
    """``read`` of a statement built once at import, its ``bindparam`` values given here."""
    return db.session.connection().execute(statement, parameters)


class BuiltStatements:
    """Statements built once per key and then reused: building a SELECT of subqueries and
    clauses costs more CPU than PostgreSQL spends running it. The access clause (for instance
    ``app.cases.access.cases_visible_to``) is asked of the access module at every request and
    compared with the one the statement was built with: a different answer (the agent moved
    office, lost the role) builds it again. The values that decide the rest of the statement
    (the agent, the tab, the sort, the filters and the day they are computed for) are in the
    key. One set per application, at most ``SIZE`` statements (the oldest goes first)."""

    SIZE = 512
    _EXTENSION = "econtacts_agent_statements"

    @classmethod
    def get(
        cls,
        key: tuple[Any, ...],
        visible: ColumnElement[bool],
        build: Callable[[ColumnElement[bool]], Select[Any]],
    ) -> Select[Any]:
        built: dict[tuple[Any, ...], tuple[ColumnElement[bool], Select[Any]]]
        built = current_app.extensions.setdefault(cls._EXTENSION, {})
        found = built.get(key)
        if found is not None and found[0].compare(visible):
            return found[1]
        statement = build(visible)
        if len(built) >= cls.SIZE:
            built.pop(next(iter(built)), None)  # the oldest
        built[key] = (visible, statement)
        return statement
