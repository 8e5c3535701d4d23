"""Fold the steering journal into the rollups (app/steering/rollups.py), from the worker's
sweep thread.

Figures are exact without it (readers add the journal); folding keeps the journal short so that
reading it stays cheap. Every worker's sweep calls it; the fold's advisory lock serialises them.
"""

from __future__ import annotations

import logging

from app.steering.rollups import fold
from jobs import context
from models import db

log = logging.getLogger(__name__)


def fold_journal() -> int:
    """Fold what the journal holds now; returns the number of journal rows folded."""
    with context.get_app().app_context():
        try:
            folded = fold()
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    if folded:
        log.info("Steering journal: %s change(s) folded into the rollups", folded)
    return folded
