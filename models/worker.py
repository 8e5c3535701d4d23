"""What each worker process last said about itself: a heartbeat row per process.

``flask econtacts status`` and the administrators' outbox page read it. A worker writes its row
every sweep (``OUTBOX_SWEEP_SECONDS``) while the database answers; a row whose ``beat_at`` is
older than three sweeps belongs to a worker that is gone (or cannot reach the database).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import UTCDateTime, db, utcnow


class WorkerHeartbeat(db.Model):  # type: ignore[name-defined]
    __tablename__ = "worker_heartbeat"

    # hostname:pid, unique while the process lives
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    # "running" (RQ jobs and sweeps), "redis-down" (sweeps send directly), "stopping"
    state: Mapped[str] = mapped_column(String(20))
    redis_ok: Mapped[bool] = mapped_column(Boolean, default=True)
    sweep_seconds: Mapped[int] = mapped_column(Integer, default=30)
    restarts: Mapped[int] = mapped_column(Integer, default=0)  # RQ loops restarted
    sent_directly: Mapped[int] = mapped_column(Integer, default=0)  # alerts sent without Redis
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    detail: Mapped[str | None] = mapped_column(Text)

    def alive(self, now: datetime) -> bool:
        return (now - self.beat_at).total_seconds() <= 3 * max(self.sweep_seconds, 1) + 5
