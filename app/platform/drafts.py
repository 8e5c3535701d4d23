"""Form input kept a short while in Redis, under a random id, so that a form can be filled in
again on another page (after an expired session, or after a refused action) without carrying
the text in a URL or a cookie. Given back once. If Redis cannot be reached, nothing is kept."""

from __future__ import annotations

import json
import logging
import secrets

import redis

from app.platform.queue import get_redis

log = logging.getLogger(__name__)

PREFIX = "econtacts:draft:"


def keep(fields: dict[str, str], *, seconds: int) -> str | None:
    """Keep ``fields`` for ``seconds``; returns their id, or None."""
    draft_id = secrets.token_urlsafe(18)
    try:
        get_redis().set(PREFIX + draft_id, json.dumps(fields), ex=seconds)
    except redis.RedisError as error:
        log.warning("draft not kept: %s", error)
        return None
    return draft_id


def take(draft_id: str) -> dict[str, str] | None:
    """The fields kept under ``draft_id`` (once), or None."""
    key = PREFIX + draft_id
    try:
        connection = get_redis()
        raw = connection.get(key)
        connection.delete(key)
    except redis.RedisError as error:
        log.warning("draft not read: %s", error)
        return None
    if raw is None:
        return None
    data = json.loads(raw)
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None
