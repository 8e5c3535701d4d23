"""The agents' course record in the training space (e-formation): one row per agent and exercise.

It lives in the real database (an agent's progress is kept across the training store's resets);
the exercise's data (its fictitious request or taxpayer) lives in the training store, named here
by ``subject_id`` and the store's ``generation`` (docs/decisions/0020).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import UTCDateTime, db


class TrainingProgress(db.Model):  # type: ignore[name-defined]
    __tablename__ = "training_progress"
    __table_args__ = (
        UniqueConstraint("agent_id", "exercise", name="uq_training_progress_agent_exercise"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"))
    exercise: Mapped[str] = mapped_column(String(40))
    # The training store's build this attempt's subject belongs to (a reset makes it stale).
    generation: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checks: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
