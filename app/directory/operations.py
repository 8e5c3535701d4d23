"""Writes to the directory's agents: plain keyword-only functions that change rows and flush,
never commit (the view, job or command that calls them commits once). The directory's other
writers are the CSV import (``app.directory.imports``) and the settings
(``app.directory.settings``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from app.platform import sessions
from app.platform.ratelimit import reset as reset_rate_limit
from models import Agent, Event, EventKind, db

log = logging.getLogger(__name__)


def reset_second_factor(*, agents: Sequence[Agent], by: Agent) -> int:
    """Forget the agents' TOTP secrets: each enrols a new second factor at their next sign-in.
    Returns how many agents were reset."""
    for agent in agents:
        agent.otp_secret = None
        agent.otp_last_counter = None
        # A new second factor: every session of the agent ends (issue 20).
        sessions.end_sessions(agent=agent, reason=sessions.SECOND_FACTOR)
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
