"""The read replica: where steering reads go, and how fresh they are (issue 18, decision 0017).

One place decides which server a query reads from:

- without ``DATABASE_REPLICA_URL`` every query goes to the primary (``SQLALCHEMY_DATABASE_URI``),
  as before;
- with it, a request that calls :func:`read_from_replica` (the steering dashboards and their CSV
  exports, after their access checks) sends its SELECTs to the replica; writes, and every request
  that did not ask (so every page that must read its own writes), stay on the primary.

The routing is one ``do_orm_execute`` listener on SQLAlchemy's ``Session`` (registered by the
factory): it sets the bind of a SELECT to the replica's engine when the current request asked
for it. The session then holds one connection per server; the request's teardown closes both.

Before routing, the replica is asked how far behind it is (one query, on a short connect
timeout). A replica that does not answer is left alone for ``REPLICA_RETRY_SECONDS`` and the
request reads from the primary instead: the dashboard says so in French, it never fails for it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app, g, has_request_context
from flask_babel import format_timedelta
from flask_babel import gettext as _
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session

from app.platform.db import listen_once

log = logging.getLogger(__name__)

EXTENSION = "econtacts.replica"
_ROUTED = "econtacts_replica_engine"
_STATE = "econtacts_replica_state"

# How far the replica is behind: 0 when everything it received is replayed (an idle primary
# sends nothing, so the time since the last replayed transaction would overstate it), else the
# age of the last replayed transaction. On a server that is not a standby: 0.
LAG_SQL = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
    "WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)


@dataclass(frozen=True)
class ReplicaState:
    """Where this request's figures were read, and how fresh they are."""

    configured: bool  # DATABASE_REPLICA_URL is set
    used: bool  # this request reads from the replica
    lag_seconds: float | None = None

    @property
    def sentence(self) -> str:
        """The dashboard's French sentence (empty without a replica)."""
        if not self.configured:
            return ""
        if not self.used:
            return _(
                "La base de lecture du pilotage ne répond pas : ces chiffres sont lus sur la "
                "base principale, à jour."
            )
        lag = self.lag_seconds or 0.0
        if lag < 1:
            return _("Chiffres lus sur la base de lecture du pilotage, à jour.")
        return _(
            "Chiffres lus sur la base de lecture du pilotage, en retard d'environ %(delay)s "
            "sur la base principale.",
            delay=format_timedelta(timedelta(seconds=lag), threshold=1.0),
        )


class _Replica:
    """The replica's engine, and when it last failed (per process)."""

    def __init__(self, engine: Engine, retry_seconds: float) -> None:
        self.engine = engine
        self.retry_seconds = retry_seconds
        self.down_until = 0.0
        self.lock = threading.Lock()

    def lag(self) -> float | None:
        """The replica's lag in seconds, or None when it does not answer."""
        if time.monotonic() < self.down_until:
            return None
        try:
            with self.engine.connect() as connection:
                value = connection.execute(LAG_SQL).scalar()
        except DBAPIError as error:
            with self.lock:
                self.down_until = time.monotonic() + self.retry_seconds
            log.warning("Read replica unavailable, reading from the primary: %s", error.orig)
            return None
        return float(value or 0)


def init_app(app: Flask) -> None:
    """Create the replica's engine when ``DATABASE_REPLICA_URL`` is set; install the router."""
    url = app.config.get("DATABASE_REPLICA_URL")
    if url:
        timeout = int(app.config.get("REPLICA_CONNECT_TIMEOUT", 2))
        engine = create_engine(
            str(url), pool_pre_ping=True, connect_args={"connect_timeout": timeout}
        )
        app.extensions[EXTENSION] = _Replica(
            engine, float(app.config.get("REPLICA_RETRY_SECONDS", 10))
        )
    listen_once(Session, "do_orm_execute", _route)


def replica_engine(app: Flask) -> Engine | None:
    replica = app.extensions.get(EXTENSION)
    return replica.engine if replica is not None else None


def read_from_replica() -> ReplicaState:
    """Send this request's SELECTs to the replica when there is one that answers; say how fresh
    the figures are. Call it after the access checks: what they read stays on the primary."""
    replica: _Replica | None = current_app.extensions.get(EXTENSION)
    if replica is None:
        state = ReplicaState(configured=False, used=False)
    else:
        lag = replica.lag()
        state = ReplicaState(configured=True, used=lag is not None, lag_seconds=lag)
        if lag is not None:
            setattr(g, _ROUTED, replica.engine)
    setattr(g, _STATE, state)
    return state


def _route(state: ORMExecuteState) -> None:
    """A SELECT of a request that asked for the replica reads there (never a write)."""
    if not state.is_select or not has_request_context():
        return
    engine = g.get(_ROUTED)
    if engine is not None and "bind" not in state.bind_arguments:
        state.bind_arguments["bind"] = engine
