"""Daily housekeeping: orphan attachment files and old sign-in sessions.

A process killed between writing a file and committing its row leaves a file no row names
(``app.cases.attachments.remove_orphan_files``; ``flask econtacts orphans`` does it by hand).
Sign-in sessions (``login_session``) that ended, or began, more than ``SESSION_MAX_DAYS`` ago
are deleted (``app.platform.sessions.purge``). The worker's sweep queues this job once a day
across all workers (a Redis key taken with SET NX, as the retention job).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from app.cases.attachments import remove_orphan_files
from app.platform import sessions
from jobs.context import get_app
from jobs.retention import enqueue_once_a_day
from models import db

log = logging.getLogger(__name__)

DAILY_KEY = "econtacts:orphans:queued"


def min_age() -> timedelta:
    return timedelta(hours=int(current_app.config.get("ORPHAN_FILE_MIN_AGE_HOURS", 24)))


def remove_orphans() -> str:
    """Remove orphan files older than the safe delay; returns the summary (the job's result)."""
    with get_app().app_context():
        report = remove_orphan_files(min_age())
        db.session.rollback()  # read only
        log.info("Orphan attachment files: %s", report.summary())
        days = int(current_app.config["SESSION_MAX_DAYS"])
        purged = sessions.purge(timedelta(days=days))
        db.session.commit()
        log.info("Sign-in sessions older than %s days deleted: %s", days, purged)
        return f"{report.summary()}; {purged} old sign-in session(s) deleted"


def enqueue_daily_cleanup() -> bool:
    """Queue the job if no worker did in the last 24 hours."""
    with get_app().app_context():
        return enqueue_once_a_day(DAILY_KEY, remove_orphans, job_timeout=6 * 3600)
