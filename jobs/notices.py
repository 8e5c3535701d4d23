"""The agents' daily pass (app.notices.daily): due-date notices for tomorrow, then the digests.

``enqueue_daily()`` is called by the worker's periodic sweep: from DIGEST_HOUR (Paris) a Redis key
taken with SET NX queues the job once per Paris day across every worker. The job is safe to run
twice: a notice is written once per case, agent and day, a digest once per agent and day, and
the digest e-mails go through the outbox (sent after commit, swept if Redis loses them).
"""

from __future__ import annotations

import logging
from datetime import date

import redis
from flask import current_app

from app.cases import notices
from app.platform.queue import get_queue, get_redis
from app.platform.templating import PARIS
from jobs import context
from models import db, utcnow

log = logging.getLogger(__name__)

DAILY_KEY = "econtacts:notices:daily"
DIGEST_HOUR = 7
KEY_SECONDS = 2 * 24 * 3600


def run_daily(day: str | None = None) -> str:
    """Write tomorrow's due-date notices and queue the digests of ``day`` (Paris, ISO date)."""
    with context.get_app().app_context():
        today = date.fromisoformat(day) if day else notices.paris_day()
        due, digests = notices.daily(today)
        db.session.commit()
        return f"{today.isoformat()}: {due} due-date notice(s), {digests} digest(s)"


def enqueue_daily() -> bool:
    """Queue today's pass once, from DIGEST_HOUR Paris time."""
    with context.get_app().app_context():
        now = utcnow().astimezone(PARIS)
        if now.hour < DIGEST_HOUR:
            return False
        day = now.date().isoformat()
        try:
            key = f"{DAILY_KEY}:{current_app.config['RQ_QUEUE']}:{day}"
            if not get_redis().set(key, 1, nx=True, ex=KEY_SECONDS):
                return False
            get_queue().enqueue(run_daily, day, job_timeout=3600)
        except redis.RedisError as error:
            log.warning("agents' daily notices not queued: %s", error)
            return False
    log.info("Agents' daily notices queued for %s", day)
    return True
