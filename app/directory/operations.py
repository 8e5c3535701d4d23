"""Writes to the directory's agents: plain keyword-only functions that change rows and flush,
never commit (the view, job or command that calls them commits once). The directory's other
writers are the CSV import (``app.directory.imports``) and the settings
(``app.directory.settings``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from app.platform import sessions
from models import Agent, db

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
