"""The nightly reset of the training store (app.training.seed.reset).

The worker's periodic sweep calls ``enqueue_nightly()``; during the hour ``TRAINING_RESET_HOUR``
(Paris time) it queues the job once across every worker (a Redis key taken with SET NX, as the
retention job). The job is safe to run twice: each run rebuilds the store from nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from app.platform.templating import PARIS
from app.training import seed
from jobs.context import get_app
from jobs.retention import enqueue_once_a_day

log = logging.getLogger(__name__)

DAILY_KEY = "econtacts:training:reset"


def reset_training_store() -> str:
    """Rebuild the training store now; returns the new build's token (the job's result)."""
    with get_app().app_context():
        token = seed.reset()
        log.info("Training store rebuilt (build %s)", token)
        return token


def enqueue_nightly(now: datetime | None = None) -> bool:
    """Queue the reset if it is the reset hour in Paris and no worker did in the last 24 hours."""
    with get_app().app_context():
        moment = (now or datetime.now(PARIS)).astimezone(PARIS)
        if moment.hour != int(current_app.config.get("TRAINING_RESET_HOUR", 3)):
            return False
        return enqueue_once_a_day(DAILY_KEY, reset_training_store, job_timeout=3600)
