"""Settings an administrator changes at run time (the intake pause...), kept in the database.

The environment gives the default (``config.py``); a row of ``Setting`` overrides it. Read them
through :func:`intake` and :func:`messaging`: every server of a multi-machine deployment sees a
change at its next request (a per-process copy, invalidated through Redis, app/platform/cache.py).
They are written by ``app.directory.operations.store_setting`` (recorded as an event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.platform.cache import VersionedCache
from models import Setting, db

INTAKE = "intake"
MESSAGING = "messaging"


@dataclass(frozen=True)
class Intake:
    paused: bool
    reopens_on: date | None
    replies_allowed: bool
    notice: str

    @property
    def accepts_new_cases(self) -> bool:
        return not self.paused

    @property
    def accepts_replies(self) -> bool:
        return not self.paused or self.replies_allowed


@dataclass(frozen=True)
class Messaging:
    reopen_period_days: int
    show_agent_names: bool


# Read on every taxpayer page and submission, changed a few times a year (app/platform/cache.py: a
# commit that changes a Setting row reloads every process's copy at its next request).
SETTINGS_CACHE: VersionedCache[dict[str, dict[str, Any]]] = VersionedCache("settings", Setting)


def _load() -> dict[str, dict[str, Any]]:
    rows = db.session.execute(select(Setting.key, Setting.value))
    return {key: value for key, value in rows if isinstance(value, dict)}


def _row(key: str) -> dict[str, Any]:
    return dict(SETTINGS_CACHE.get(_load).get(key, {}))


def intake() -> Intake:
    config = current_app.config
    stored = _row(INTAKE)
    reopens = stored.get("reopens_on", config.get("INTAKE_REOPENS_ON"))
    try:
        reopens_on = date.fromisoformat(reopens) if reopens else None
    except ValueError:
        reopens_on = None
    return Intake(
        paused=bool(stored.get("paused", config.get("INTAKE_PAUSED", False))),
        reopens_on=reopens_on,
        replies_allowed=bool(stored.get("replies_allowed", True)),
        notice=str(stored.get("notice") or ""),
    )


def messaging() -> Messaging:
    config = current_app.config
    stored = _row(MESSAGING)
    return Messaging(
        reopen_period_days=int(stored.get("reopen_period_days", config["REOPEN_PERIOD_DAYS"])),
        show_agent_names=bool(stored.get("show_agent_names", False)),
    )
