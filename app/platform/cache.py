"""Per-process copies of what administrators change rarely, kept right across processes.

Roles' permissions, the offices a case can be transferred to and the run-time settings are
read on nearly every page and change a few times a year. Each is a :class:`VersionedCache`: a
copy of plain data (never ORM objects) kept in the application, valid while its *token* in Redis
is the one it was loaded with (docs/security.md, "Permission cache").

- A commit that adds, changes or deletes a row of a model a cache watches (through the ORM:
  unit of work or ``update()``/``delete()`` statements) drops this process's copy and writes a
  new random token to Redis; every other process compares tokens at most once per request (one
  ``MGET`` for all caches) and reloads on a difference. A missing token (Redis emptied) is
  replaced by a new one, so it invalidates too. A change noted then rolled back is published
  with the session's next commit: one needless reload, never a stale copy.
- A copy older than ``MAX_AGE_SECONDS`` is reloaded whatever the token says: the bound on a
  change made outside the ORM (``psql``), and the only rule while Redis is unreachable.
- Outside a request (jobs, CLI) nothing is cached: the loader runs every time.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any, Generic, TypeVar

import redis
from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.platform.db import current_store, listen_once
from app.platform.queue import get_redis
from models import Office, TaxMatter, Topic, db

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_AGE_SECONDS = 60.0
_KEY = "econtacts:cache:{name}"
_EXTENSION = "econtacts_cache"
_REQUEST_TOKENS = "_econtacts_cache_tokens"
_PENDING = "econtacts_cache_pending"

_WATCHED: dict[type, set[str]] = {}  # model -> names of the caches it invalidates
_NAMES: list[str] = []


@dataclass
class _Copy:
    value: Any
    token: str | None
    loaded_at: float


def _key(name: str) -> str:
    return _KEY.format(name=name)


class VersionedCache(Generic[T]):
    """One cached value per application, reloaded when a watched model changes."""

    def __init__(self, name: str, *watched: type) -> None:
        self.name = name
        if name not in _NAMES:
            _NAMES.append(name)
        for model in watched:
            _WATCHED.setdefault(model, set()).add(name)

    def get(self, loader: Callable[[], T]) -> T:
        if not has_request_context():
            return loader()
        copies: dict[str, _Copy] = current_app.extensions.setdefault(_EXTENSION, {})
        token = _request_tokens().get(self.name)
        # The training store has its own rows under the same ids: its own copy (decision 0020).
        store = current_store()
        slot = self.name if store is None else f"{self.name}@{store}"
        copy = copies.get(slot)
        now = time.monotonic()
        if copy is not None and copy.token == token and now - copy.loaded_at < MAX_AGE_SECONDS:
            return copy.value
        value = loader()
        copies[slot] = _Copy(value=value, token=token, loaded_at=now)
        return value

    def invalidate(self) -> None:
        invalidate(self.name)


def _request_tokens() -> dict[str, str | None]:
    """Every cache's token, read from Redis once per request (None: Redis unreachable)."""
    tokens: dict[str, str | None] | None = g.get(_REQUEST_TOKENS)
    if tokens is not None:
        return tokens
    names = list(_NAMES)
    try:
        client = get_redis()
        values = client.mget([_key(name) for name in names])
        missing = [name for name, value in zip(names, values, strict=True) if value is None]
        if missing:
            with client.pipeline() as pipe:
                for name in missing:
                    pipe.set(_key(name), secrets.token_hex(8), nx=True)
                pipe.execute()
            values = client.mget([_key(name) for name in names])
        tokens = {
            name: value.decode() if isinstance(value, bytes) else value
            for name, value in zip(names, values, strict=True)
        }
    except redis.RedisError as error:
        log.warning("Cache tokens unavailable (Redis), copies kept %ss: %s", MAX_AGE_SECONDS, error)
        tokens = dict.fromkeys(names)
    g.setdefault(_REQUEST_TOKENS, tokens)
    return tokens


def get_with_tokens(key: str) -> Any:
    """``GET key`` in the same round trip as every cache's token (``MGET``), which the request
    keeps as ``_request_tokens`` would have read them: the session check that every request
    makes (app.platform.sessions) then saves the request a second trip to Redis. Raises
    ``redis.RedisError`` as a ``GET`` would."""
    if not has_request_context() or g.get(_REQUEST_TOKENS) is not None:
        return get_redis().get(key)
    names = list(_NAMES)
    with get_redis().pipeline(transaction=False) as pipe:
        pipe.get(key)
        pipe.mget([_key(name) for name in names])
        value, tokens = pipe.execute()
    if None in tokens:
        _request_tokens()  # gives the missing ones a token (once, after Redis was emptied)
    else:
        g.setdefault(
            _REQUEST_TOKENS,
            {
                name: token.decode() if isinstance(token, bytes) else token
                for name, token in zip(names, tokens, strict=True)
            },
        )
    return value


def invalidate(*names: str) -> None:
    """Drop this process's copies and give the caches a new token (every process reloads)."""
    if not has_app_context():
        return
    copies: dict[str, _Copy] = current_app.extensions.get(_EXTENSION, {})
    for name in names:
        for slot in [slot for slot in copies if slot == name or slot.startswith(f"{name}@")]:
            copies.pop(slot, None)
    g.pop(_REQUEST_TOKENS, None)
    try:
        with get_redis().pipeline() as pipe:
            for name in names:
                pipe.set(_key(name), secrets.token_hex(8))
            pipe.execute()
    except redis.RedisError as error:
        log.warning("Cache tokens not renewed (Redis): others reload within %ss", MAX_AGE_SECONDS)
        log.debug("Redis error: %s", error)


def _names_for(classes: Any) -> set[str]:
    names: set[str] = set()
    for cls in classes:
        for model, cache_names in _WATCHED.items():
            if issubclass(cls, model):
                names |= cache_names
    return names


def _note_flushed(session: Session, _context: UOWTransaction) -> None:
    if not _WATCHED:
        return
    classes = {type(obj) for obj in chain(session.new, session.dirty, session.deleted)}
    names = _names_for(classes)
    if names:
        session.info.setdefault(_PENDING, set()).update(names)


def _note_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert) or not _WATCHED:
        return
    mapper = state.bind_mapper
    if mapper is not None:
        names = _names_for([mapper.class_])
        if names:
            state.session.info.setdefault(_PENDING, set()).update(names)


def _publish(session: Session) -> None:
    names = session.info.pop(_PENDING, None)
    if names:
        invalidate(*sorted(names))


def install() -> None:
    """A commit that changed a watched model invalidates its caches everywhere (from the
    factory)."""
    listen_once(Session, "after_flush", _note_flushed)
    listen_once(Session, "do_orm_execute", _note_statement)
    listen_once(Session, "after_commit", _publish)


# --- the directory's labels -------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    id: int
    label: str


@dataclass(frozen=True)
class References:
    """The filters' choices and every topic's full label, as plain data (cached per process)."""

    topics: tuple[Choice, ...]  # active topics, in the directory's order
    tax_matters: tuple[Choice, ...]  # active tax matters
    topic_labels: dict[int, str]  # every topic, inactive ones too (old cases show them)
    topic_names: dict[int, str]  # every topic's own label (a sub-topic's without its parent's)
    topic_parents: dict[int, int]  # every topic's parent, or itself for a top-level topic
    tax_matter_labels: dict[int, str]  # every tax matter, inactive ones too
    office_names: dict[int, str]  # every office


REFERENCES: VersionedCache[References] = VersionedCache(
    "directory-labels", Topic, TaxMatter, Office
)


def _load_references() -> References:
    topics = db.session.execute(
        select(Topic.id, Topic.label, Topic.parent_id, Topic.active).order_by(
            Topic.position, Topic.label
        )
    ).all()
    plain = {row.id: row.label for row in topics}
    labels = {
        row.id: f"{plain[row.parent_id]} — {row.label}" if row.parent_id in plain else row.label
        for row in topics
    }
    matters = db.session.execute(
        select(TaxMatter.id, TaxMatter.label, TaxMatter.active).order_by(
            TaxMatter.position, TaxMatter.label
        )
    ).all()
    return References(
        topics=tuple(Choice(row.id, labels[row.id]) for row in topics if row.active),
        tax_matters=tuple(Choice(row.id, row.label) for row in matters if row.active),
        topic_labels=labels,
        topic_names=plain,
        topic_parents={row.id: row.parent_id or row.id for row in topics},
        tax_matter_labels={row.id: row.label for row in matters},
        office_names={
            row.id: row.name for row in db.session.execute(select(Office.id, Office.name))
        },
    )


def references() -> References:
    """The directory's labels (one copy per process, reloaded when a topic, a tax matter or an
    office changes): lists show them without loading a row per line."""
    return REFERENCES.get(_load_references)
