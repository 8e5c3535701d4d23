"""The retention job (app.retention.operations): applied once a day by the RQ worker.

``enqueue_daily()`` is called by the worker's periodic sweep; a Redis key taken with SET NX makes
it queue the job once a day across every worker of a deployment. The job is safe to run twice:
what was archived or purged is no longer due.
"""

from __future__ import annotations

import logging

import redis
from flask import current_app

from app.platform.queue import get_queue, get_redis
from app.retention.operations import apply_retention
from jobs import context
from models import db

log = logging.getLogger(__name__)

DAILY_KEY = "econtacts:retention:queued"
DAY_SECONDS = 24 * 3600


def run_retention() -> str:
    """Apply the retention periods now; returns the summary (kept in the job's result)."""
    with context.get_app().app_context():
        report = apply_retention(commit=db.session.commit)
        return report.summary()


def enqueue_daily() -> bool:
    """Queue the job if no worker did in the last 24 hours."""
    with context.get_app().app_context():
        try:
            key = f"{DAILY_KEY}:{current_app.config['RQ_QUEUE']}"
            if not get_redis().set(key, 1, nx=True, ex=DAY_SECONDS):
                return False
            get_queue().enqueue(run_retention, job_timeout=6 * 3600)
        except redis.RedisError as error:
            log.warning("retention job not queued: %s", error)
            return False
    log.info("Retention job queued")
    return True
