"""The one SQLAlchemy instance and shared column helpers.

``db`` uses Flask-AppBuilder's declarative base as its model class so that one metadata holds
FAB's security tables and ours: Alembic then sees the whole schema (docs/decisions/0002).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from flask_appbuilder.models.sqla import Model
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _FlaskSession
from sqlalchemy import DateTime, Dialect, Engine, Enum, MetaData, TypeDecorator
from sqlalchemy.engine import Connection

# ``db.session.info[STORE_KEY]`` names the bind (``SQLALCHEMY_BINDS``) that every statement of
# this session goes to, whatever the model: the training store (app.training.store,
# docs/decisions/0020). Unset, the session uses the real database.
STORE_KEY = "econtacts_store"


class StoreSession(_FlaskSession):
    """Flask-SQLAlchemy's session, sent as a whole to another bind when ``info`` says so."""

    def get_bind(
        self,
        mapper: Any | None = None,
        clause: Any | None = None,
        bind: Engine | Connection | None = None,
        **kwargs: Any,
    ) -> Engine | Connection:
        store = self.info.get(STORE_KEY)
        if bind is None and store is not None:
            return self._db.engines[store]
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Model, session_options={"class_": StoreSession})

# Constraint names that Alembic can rely on, on SQLite and PostgreSQL alike.
Model.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = Model.metadata


def utcnow() -> datetime:
    """Aware UTC now; every timestamp column stores UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC, given back as aware datetimes on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(enum_class: type[enum.Enum], length: int = 32) -> Enum:
    """Store an enum as its value in a plain VARCHAR with a CHECK: portable and migration-safe."""
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        create_constraint=True,
        name=f"{enum_class.__name__.lower()}_values",
    )


class LabelledEnum(enum.StrEnum):
    """An enum whose members carry the French label shown on screens (through gettext)."""

    label: str

    def __new__(cls, value: str, label: str) -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    def __str__(self) -> str:
        return self.value
