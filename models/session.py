"""Sign-in sessions kept on the server, so that one can be ended wherever its cookie was copied.

The session cookie carries a random token; this table keeps its SHA-256 (never the token), whose
it is (an agent or a taxpayer) and when it ended. ``app.sessions`` reads and ends them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import UTCDateTime, db, utcnow


class LoginSession(db.Model):  # type: ignore[name-defined]
    __tablename__ = "login_session"
    __table_args__ = (
        CheckConstraint("(agent_id IS NULL) <> (taxpayer_id IS NULL)", name="one_owner"),
    )

    # SHA-256 (hex) of the token kept in the cookie.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="CASCADE"), index=True
    )
    taxpayer_id: Mapped[int | None] = mapped_column(
        ForeignKey("taxpayer.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the person may recognise in a list of their sessions (browser, shortened).
    user_agent: Mapped[str | None] = mapped_column(String(200))
    # Why it ended: logout, others, admin, password, second_factor.
    ended_reason: Mapped[str | None] = mapped_column(String(20))
