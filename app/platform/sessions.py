"""Sign-in sessions kept on the server: a copied cookie stops working once its session ended.

Signing in (an agent after both factors, a taxpayer after the password and the e-mailed code)
opens a ``LoginSession`` row and puts its random token in the signed cookie. Every request asks
whether that session is still live (``is_live``): one Redis ``GET`` of a cached verdict, the
database only on a miss (then cached for ``CACHE_SECONDS``), so the check adds no SQL query to a
page once warm. Ending a session writes ``ended_at`` and overwrites the cached verdict at once;
if Redis cannot be reached the database answers every request, so an ended session never lives
on (docs/security.md, "Sessions").

``end_sessions`` is the one function that ends a person's sessions: logout (this one), "end my
other sessions", an administrator ending an agent's, a change of password or of second factor.
Nothing here commits.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

import redis
from flask import has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update

from app.platform import cache
from app.platform.queue import get_redis
from models import Agent, LoginSession, Taxpayer, db, utcnow

log = logging.getLogger(__name__)

# The Flask session keys that hold the tokens, one per population (both may be signed in from
# the same browser).
AGENT_SID = "agent_sid"
TAXPAYER_SID = "taxpayer_sid"

PREFIX = "econtacts:session:"
CACHE_SECONDS = 300
LIVE, ENDED = b"1", b"0"

# Why a session ended (LoginSession.ended_reason).
LOGOUT = "logout"
OTHERS = "others"
ADMIN = "admin"
PASSWORD = "password"  # noqa: S105 - a reason, not a secret
SECOND_FACTOR = "second_factor"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _cache(digests: list[str], verdict: bytes) -> None:
    if not digests:
        return
    try:
        with get_redis().pipeline(transaction=False) as pipe:
            for digest in digests:
                pipe.set(PREFIX + digest, verdict, ex=CACHE_SECONDS)
            pipe.execute()
    except redis.RedisError as error:
        # Readers that cannot reach Redis ask the database; a verdict left in a Redis that we
        # could not update lives CACHE_SECONDS at most.
        log.warning("session verdict not cached: %s", error)


def open_session(*, agent: Agent | None = None, taxpayer: Taxpayer | None = None) -> str:
    """A new live session for ``agent`` or ``taxpayer``; returns the token for the cookie."""
    assert (agent is None) != (taxpayer is None)
    token = secrets.token_urlsafe(32)
    user_agent = request.user_agent.string[:200] if has_request_context() else None
    db.session.add(
        LoginSession(
            id=_digest(token),
            agent_id=agent.id if agent is not None else None,
            taxpayer_id=taxpayer.id if taxpayer is not None else None,
            user_agent=user_agent or None,
        )
    )
    db.session.flush()
    return token


def is_live(token: object) -> bool:
    """Whether the session of this cookie token is still open (one Redis GET when cached)."""
    if not isinstance(token, str) or not token:
        return False
    digest = _digest(token)
    try:
        # With the caches' tokens (app.platform.cache), in the same round trip.
        cached = cache.get_with_tokens(PREFIX + digest)
    except redis.RedisError:
        cached = None
    if cached is not None:
        return bool(cached == LIVE)
    ended_at = db.session.execute(
        select(LoginSession.ended_at).where(LoginSession.id == digest)
    ).first()
    live = ended_at is not None and ended_at[0] is None
    _cache([digest], LIVE if live else ENDED)
    return live


def remember_live(token: str) -> None:
    """Cache a committed new session as live (saves the first request's database read)."""
    _cache([_digest(token)], LIVE)


def end_sessions(
    *,
    agent: Agent | None = None,
    taxpayer: Taxpayer | None = None,
    token: str | None = None,
    keep: str | None = None,
    reason: str,
) -> int:
    """End sessions: the one of ``token``, or every live one of ``agent`` / ``taxpayer``
    except ``keep`` (a token). Returns how many ended. Effective at once on every server
    (the cached verdicts are overwritten before the caller commits; a rollback only ends
    them early). The caller commits."""
    owner = None
    if agent is not None:
        owner = LoginSession.agent_id == agent.id
    elif taxpayer is not None:
        owner = LoginSession.taxpayer_id == taxpayer.id
    query = select(LoginSession.id).where(LoginSession.ended_at.is_(None))
    if token is not None:
        query = query.where(LoginSession.id == _digest(token))
    elif owner is not None:
        query = query.where(owner)
    else:
        raise ValueError("end_sessions needs a token, an agent or a taxpayer")
    if owner is not None:
        query = query.where(owner)
    if keep:
        query = query.where(LoginSession.id != _digest(keep))
    digests = list(db.session.scalars(query))
    if digests:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.id.in_(digests))
            .values(ended_at=utcnow(), ended_reason=reason)
        )
    _cache(digests, ENDED)
    return len(digests)


def purge(max_age: timedelta) -> int:
    """Delete the sessions that ended more than ``max_age`` ago, and those opened more than
    ``max_age`` ago that never ended (the absolute lifetime of a session: the idle timeout
    ends them in the browser, not here). Returns how many rows went. The caller commits."""
    limit = utcnow() - max_age
    old = or_(
        LoginSession.ended_at < limit,
        LoginSession.ended_at.is_(None) & (LoginSession.created_at < limit),
    )
    digests = list(db.session.scalars(select(LoginSession.id).where(old)))
    if digests:
        _cache(digests, ENDED)  # a cached "live" verdict must not outlive its row
        db.session.execute(delete(LoginSession).where(LoginSession.id.in_(digests)))
    return len(digests)


def others_ended_message(ended: int) -> str:
    """What "end my other sessions" tells the person (agents and taxpayers alike)."""
    if ended:
        return _("Vos autres sessions sont fermées (%(n)s).", n=ended)
    return _("Aucune autre session n'était ouverte.")
