"""Who has a case open right now: a short-lived mark per agent and case, kept in Redis.

Every node of the application shares it (nothing is kept in process). The case's page marks
the agent on load and refreshes the mark with a small heartbeat; a mark not refreshed within
``TTL_SECONDS`` disappears by itself. It only informs ("Camille Dupont consulte aussi cette
demande"): it never locks anything, and if Redis is unreachable the page simply says nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis

from app.platform.db import current_store
from app.platform.queue import get_redis

log = logging.getLogger(__name__)

TTL_SECONDS = 120
_KEY = "econtacts:presence:case:{case_id}"
_SEPARATOR = "\t"


@dataclass(frozen=True)
class Viewer:
    agent_id: int
    name: str


def _key(case_id: int) -> str:
    key = _KEY.format(case_id=case_id)
    store = current_store()  # the training store's case 5 is not the real case 5
    return key if store is None else f"{key}@{store}"


def mark(case_id: int, agent_id: int, name: str, *, now: float | None = None) -> list[Viewer]:
    """Say that ``agent_id`` has the case open; return the *other* agents who have it open."""
    moment = time.time() if now is None else now
    key = _key(case_id)
    try:
        client = get_redis()
        # A name change leaves the old member behind until it expires: harmless.
        member = f"{agent_id}{_SEPARATOR}{name}"
        with client.pipeline() as pipe:
            pipe.zremrangebyscore(key, "-inf", moment - TTL_SECONDS)
            pipe.zadd(key, {member: moment})
            pipe.expire(key, TTL_SECONDS)
            pipe.zrangebyscore(key, moment - TTL_SECONDS, "+inf")
            results = pipe.execute()
    except redis.RedisError as error:
        log.warning("Presence unavailable (Redis): %s", error)
        return []
    return _others(results[-1], agent_id)


def leave(case_id: int, agent_id: int) -> None:
    """Remove the agent's mark (the page was left); errors are ignored."""
    key = _key(case_id)
    try:
        client = get_redis()
        members: list[Any] = list(client.zrange(key, 0, -1))
        for member in members:
            text = member.decode() if isinstance(member, bytes) else str(member)
            if text.split(_SEPARATOR, 1)[0] == str(agent_id):
                client.zrem(key, member)
    except redis.RedisError as error:
        log.warning("Presence unavailable (Redis): %s", error)


def viewers(case_id: int, *, exclude_agent_id: int | None = None) -> list[Viewer]:
    """The agents whose mark on this case is still fresh."""
    try:
        members: list[Any] = list(
            get_redis().zrangebyscore(_key(case_id), time.time() - TTL_SECONDS, "+inf")
        )
    except redis.RedisError as error:
        log.warning("Presence unavailable (Redis): %s", error)
        return []
    return _others(members, exclude_agent_id)


def _others(members: list[Any], agent_id: int | None) -> list[Viewer]:
    seen: dict[int, Viewer] = {}
    for member in members:
        text = member.decode() if isinstance(member, bytes) else str(member)
        raw_id, _, name = text.partition(_SEPARATOR)
        try:
            viewer_id = int(raw_id)
        except ValueError:
            continue
        if viewer_id != agent_id:
            seen[viewer_id] = Viewer(agent_id=viewer_id, name=name)
    return sorted(seen.values(), key=lambda viewer: viewer.name)
