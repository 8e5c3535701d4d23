"""The retention job (app.retention.operations): applied once a day by the RQ worker, after
making sure the history's yearly partitions exist three years ahead (app.platform.partitions).

``enqueue_daily()`` is called by the worker's periodic sweep; a Redis key taken with SET NX makes
it queue the job once a day across every worker of a deployment. The job is safe to run twice:
what was archived or purged is no longer due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from flask import current_app

from app.platform import partitions
from app.platform.queue import get_queue, get_redis
from app.retention.operations import apply_retention
from jobs.context import get_app
from models import db

log = logging.getLogger(__name__)

DAILY_KEY = "econtacts:retention:queued"
DAY_SECONDS = 24 * 3600


def run_retention() -> str:
    """Create the history's partitions ahead (PostgreSQL), then apply the retention periods
    now; returns the summary (kept in the job's result)."""
    with get_app().app_context():
        created = partitions.create_ahead()
        partitions.analyze()
        db.session.commit()
        if created:
            log.info("partitions created ahead: %s", ", ".join(created))
        report = apply_retention(commit=db.session.commit)
        return f"{len(created)} partition(s) created ahead; {report.summary()}"


def enqueue_daily() -> bool:
    """Queue the job if no worker did in the last 24 hours."""
    with get_app().app_context():
        return enqueue_once_a_day(DAILY_KEY, run_retention, job_timeout=6 * 3600)


def enqueue_once_a_day(key: str, func: Callable[[], str], *, job_timeout: int) -> bool:
    """Queue ``func`` unless a worker of this queue did in the last 24 hours (a Redis key taken
    with SET NX). In an app context. False if already queued today or Redis is unreachable."""
    try:
        if not get_redis().set(
            f"{key}:{current_app.config['RQ_QUEUE']}", 1, nx=True, ex=DAY_SECONDS
        ):
            return False
        get_queue().enqueue(func, job_timeout=job_timeout)
    except redis.RedisError as error:
        log.warning("%s not queued: %s", func.__name__, error)
        return False
    log.info("%s queued", func.__name__)
    return True
