"""The training store: a second engine (Flask-SQLAlchemy bind ``training``) that a training
request's whole session is sent to (docs/decisions/0020).

- SQLite: a file of its own beside the real base (``<data folder>/training.sqlite3``).
- PostgreSQL: the schema ``formation`` of the same database, reached through an engine whose
  ``schema_translate_map`` sends every table (they have no schema) there.
- ``TRAINING_DATABASE_URL`` names another database instead.

The request decides once, before any view or FAB reads the database
(``views.training.gate``): from then on ``db.session`` answers from the training store only,
so the real operations, access rules and screens run unchanged on fictitious rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, g
from sqlalchemy import Engine, Table, inspect, select, text
from sqlalchemy.orm import Session

from models import Setting, TrainingProgress, db, utcnow
from models.base import STORE_KEY

BIND = "training"
SCHEMA = "formation"
GENERATION_KEY = "training.generation"
# Tables of the real database only: the course record, Alembic's version.
REAL_ONLY = {TrainingProgress.__tablename__, "alembic_version"}


class StoreMisconfigured(RuntimeError):
    pass


def configure(app: Flask) -> None:
    """Declare the training bind (before ``db.init_app``)."""
    main = str(app.config["SQLALCHEMY_DATABASE_URI"])
    url = app.config.get("TRAINING_DATABASE_URL")
    binds: dict[str, Any] = dict(app.config.get("SQLALCHEMY_BINDS") or {})
    if url:
        if url == main:
            raise StoreMisconfigured(
                "TRAINING_DATABASE_URL désigne la base réelle : la formation ne doit jamais y "
                "écrire. Donnez une autre base, ou retirez le réglage."
            )
        binds[BIND] = url
    elif main.startswith("sqlite"):
        binds[BIND] = f"sqlite:///{Path(app.config['DATA_DIR']) / 'training.sqlite3'}"
    else:
        binds[BIND] = {
            "url": main,
            "pool_pre_ping": True,
            "execution_options": {"schema_translate_map": {None: SCHEMA}},
        }
    app.config["SQLALCHEMY_BINDS"] = binds


def engine() -> Engine:
    return db.engines[BIND]


def _schema(bind: Engine) -> str | None:
    """The schema the training engine translates every table to (PostgreSQL), if any."""
    translate = bind.get_execution_options().get("schema_translate_map") or {}
    value = translate.get(None)
    return value if isinstance(value, str) else None


def store_tables() -> list[Table]:
    return [table for table in db.metadata.sorted_tables if table.name not in REAL_ONLY]


def _check_apart(bind: Engine) -> None:
    """Never build or drop the training tables where the real ones are."""
    real = db.engines[None]
    if bind.url == real.url and _schema(bind) is None:
        raise StoreMisconfigured("the training store and the real database are the same")


def is_built() -> bool:
    bind = engine()
    schema = _schema(bind)
    with bind.connect() as connection:
        return bool(inspect(connection).has_table(Setting.__tablename__, schema=schema))


def rebuild_schema() -> None:
    """Empty the training store and create its tables again (from the models)."""
    bind = engine()
    _check_apart(bind)
    schema = _schema(bind)
    if schema is not None:
        with bind.begin() as connection:
            # The schema named explicitly: nothing outside it can be dropped.
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    else:
        with bind.connect() as connection:
            # SQLite checks foreign keys on DROP (an office's parent): off for this connection.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
            db.metadata.drop_all(connection, tables=store_tables())
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
    db.metadata.create_all(bind, tables=store_tables())


def active() -> bool:
    """Whether this context's ``db.session`` answers from the training store."""
    return db.session.info.get(STORE_KEY) == BIND


def enter_for_request() -> None:
    """From now on, this request's session reads and writes the training store only. What it
    read of the real database before (the session's liveness) is released, and the agent that
    Flask-Login may have loaded from it is forgotten (the training copy is loaded instead)."""
    db.session.close()
    db.session.info[STORE_KEY] = BIND
    g.pop("_login_user", None)


@contextmanager
def store_session() -> Iterator[None]:
    """``db.session`` sent to the training store for the block (reset, enrolment), then back
    to the real database; the block commits what it keeps."""
    previous = db.session.info.get(STORE_KEY)
    # FAB's audit columns name ``g.user``: a real account that the training store may not have.
    user = g.pop("user", None)
    db.session.close()
    db.session.info[STORE_KEY] = BIND
    try:
        yield
    finally:
        db.session.close()
        if previous is None:
            db.session.info.pop(STORE_KEY, None)
        else:
            db.session.info[STORE_KEY] = previous
        if user is not None:
            g.user = user


@contextmanager
def real_session() -> Iterator[Session]:
    """A session of the real database, whatever ``db.session`` answers from: the course record
    (``TrainingProgress``) is the one real table a training request writes."""
    with Session(db.engines[None], expire_on_commit=False) as session:
        yield session


def generation() -> str | None:
    """The token of the training store's current build (in the store's own settings)."""
    row = db.session.get(Setting, GENERATION_KEY)
    value = row.value if row is not None else None
    return value if isinstance(value, str) else None


def new_generation() -> str:
    token = secrets.token_hex(8)
    db.session.merge(Setting(key=GENERATION_KEY, value=token, updated_at=utcnow()))
    return token


def copy_reference_tables(*tables: Table) -> None:
    """Copy reference rows the migrations create (office kinds, closing outcomes) from the real
    database into the training store (read there, written here)."""
    with db.engines[None].connect() as real:
        for table in tables:
            rows = [dict(row) for row in real.execute(select(table)).mappings()]
            if rows:
                db.session.execute(table.insert(), rows)
