"""The directory's only writers: agents' accounts, the office tree, the CSV import's apply step
and the run-time settings. Plain keyword-only functions that change rows and flush, never commit
(the view, job or command that calls them commits once). What an administrator changes is
recorded as an event (who, when, what), like the cases' operations.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import inspect, select

from app.platform import sessions
from app.platform.ratelimit import reset as reset_rate_limit
from models import Agent, Event, EventKind, Office, OfficeKind, OfficeTerritory, Setting, db, utcnow

log = logging.getLogger(__name__)


# --- agents' accounts -------------------------------------------------------------------------


def reset_second_factor(*, agents: Sequence[Agent], by: Agent) -> int:
    """Forget the agents' TOTP secrets: each enrols a new second factor at their next sign-in.
    Recorded as an event per agent. Returns how many agents were reset."""
    for agent in agents:
        agent.otp_secret = None
        agent.otp_last_counter = None
        # A new second factor: every session of the agent ends (issue 20).
        sessions.end_sessions(agent=agent, reason=sessions.SECOND_FACTOR)
        record_agent_event(EventKind.AGENT_SECOND_FACTOR_RESET, agent=agent, by=by)
        log.info("Second factor of agent %s reset by agent %s", agent.id, by.id)
    db.session.flush()
    return len(agents)


def unlock_agent(*, agent: Agent, by: Agent | None) -> None:
    """Lift the lock of an agent's account (too many wrong passwords), forget the failures and
    the per-identifier rate limit; recorded as an event."""
    lift_lock(agent=agent)
    record_agent_event(EventKind.AGENT_UNLOCKED, agent=agent, by=by)
    db.session.flush()


def lift_lock(*, agent: Agent) -> None:
    """The account opens again (also after an administrator's password reset)."""
    agent.fail_login_count = 0
    agent.locked_until = None
    reset_rate_limit(f"agent-login-user:{agent.username.strip().lower()}")


def record_agent_event(kind: EventKind, *, agent: Agent, by: Agent | None) -> None:
    """An event about an agent's account (``data["agent_id"]``), by an administrator."""
    db.session.add(
        Event(
            kind=kind,
            actor_agent_id=by.id if by is not None else None,
            data={"agent_id": agent.id, "username": agent.username},
        )
    )


# --- the office tree --------------------------------------------------------------------------

# Who must hear, in the same transaction, that an office moved in the tree: the steering rollups
# (the factory registers ``app.steering.rollups.office_moved``; the directory does not import
# steering, which reads the office tree and so sits above it).
OfficeMoved = Callable[[int, str, str], None]
_office_moved: list[OfficeMoved] = []


def on_office_moved(listener: OfficeMoved) -> None:
    """Call ``listener(office_id, old_path, new_path)`` whenever an office moves (once)."""
    if listener not in _office_moved:
        _office_moved.append(listener)


def move_office(office: Office, parent: Office | None) -> None:
    """Give ``office`` a new parent and keep every materialised path of its subtree right.

    Raises ValueError (French) when the move would put the office under itself.
    """
    loops = parent is not None and (
        parent.id == office.id
        or (office.path not in ("", "/") and parent.path.startswith(office.path))
    )
    if office.id is not None and parent is not None and loops:
        raise ValueError(
            _(
                "« %(parent)s » est rattaché à « %(office)s » : un service ne peut pas "
                "dépendre de lui-même.",
                parent=parent.name,
                office=office.name,
            )
        )
    office.parent = parent
    if office.id is None:
        db.session.add(office)
        db.session.flush()
    old_path = office.path
    new_path = office.compute_path()
    if new_path == old_path:
        return
    office.path = new_path
    if old_path and old_path != "/":
        # Its cases now count under other ancestors (the steering rollups listen).
        for listener in _office_moved:
            listener(office.id, old_path, new_path)
        for descendant in db.session.scalars(
            select(Office).where(Office.path.startswith(old_path), Office.id != office.id)
        ):
            descendant.path = new_path + descendant.path[len(old_path) :]
    db.session.flush()


def set_territories(office: Office, territories: list[tuple[str, str | None]]) -> None:
    """Replace the office's territories (kept rows stay, so nothing is rewritten needlessly)."""
    wanted = set(territories)
    for territory in list(office.territories):
        key = (territory.departement, territory.commune_code)
        if key in wanted:
            wanted.discard(key)
        else:
            office.territories.remove(territory)
    for departement, commune in territories:
        if (departement, commune) in wanted:
            office.territories.append(
                OfficeTerritory(departement=departement, commune_code=commune)
            )
            wanted.discard((departement, commune))


# --- the CSV import's apply step (app.directory.imports checks the file first) ----------------


@dataclass
class OfficeEntry:
    """One accepted line of an offices file."""

    line: int
    code: str
    name: str
    kind: OfficeKind
    parent_code: str | None
    email: str | None
    phone: str | None
    address: str | None
    territories: list[tuple[str, str | None]]
    existing: Office | None


@dataclass
class AgentEntry:
    """One accepted line of an agents file."""

    line: int
    username: str
    first_name: str
    last_name: str
    email: str
    office: Office | None
    roles: list[str]
    existing: Agent | None


def apply_offices(
    entries: Sequence[OfficeEntry], known: dict[str, Office], *, by: Agent | None
) -> None:
    """Create or update every office of a checked file, parents first; recorded as an event."""
    for entry in entries:
        office = entry.existing or Office(code=entry.code, path="/", active=True)
        office.name = entry.name
        office.kind = entry.kind
        office.email = entry.email
        office.phone = entry.phone
        office.address = entry.address
        parent = known.get(entry.parent_code) if entry.parent_code else None
        move_office(office, parent)
        set_territories(office, entry.territories)
        known[entry.code] = office
    _record_import("offices", entries, by=by)
    db.session.flush()


def role_model() -> Any:
    """FAB's role class, reached through the agent's mapping (no FAB import here)."""
    return inspect(Agent).relationships["roles"].mapper.class_


def apply_agents(entries: Sequence[AgentEntry], *, by: Agent | None) -> None:
    """Create or update every agent of a checked file; recorded as an event. New agents get no
    usable password: an administrator sets one."""
    role_class = role_model()
    roles = {role.name: role for role in db.session.scalars(select(role_class))}
    for entry in entries:
        agent = entry.existing
        if agent is None:
            # No usable password: an administrator sets one (werkzeug refuses this value).
            agent = Agent(username=entry.username, active=True, password="!" + secrets.token_hex(8))
            db.session.add(agent)
        agent.first_name = entry.first_name
        agent.last_name = entry.last_name
        agent.email = entry.email
        agent.office = entry.office
        agent.roles = [roles[name] for name in entry.roles if name in roles]
    _record_import("agents", entries, by=by)
    db.session.flush()


def _record_import(
    kind: str, entries: Sequence[OfficeEntry | AgentEntry], *, by: Agent | None
) -> None:
    created = sum(1 for entry in entries if entry.existing is None)
    db.session.add(
        Event(
            kind=EventKind.DIRECTORY_IMPORTED,
            actor_agent_id=by.id if by is not None else None,
            data={"file": kind, "created": created, "updated": len(entries) - created},
        )
    )


# --- run-time settings (app.directory.settings reads them) ------------------------------------


def store_setting(key: str, value: dict[str, Any], *, by: Agent | None) -> bool:
    """Write a setting in the current transaction (the caller commits); a change is recorded as
    an event with the old and new values. Returns whether anything changed."""
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    old = dict(row.value) if isinstance(row.value, dict) else None
    if old == value:
        return False
    row.value = value
    row.updated_at = utcnow()
    row.updated_by_id = by.id if by is not None else None
    db.session.add(
        Event(
            kind=EventKind.SETTING_CHANGED,
            actor_agent_id=row.updated_by_id,
            data={"key": key, "old": old, "new": value},
        )
    )
    db.session.flush()
    return True
