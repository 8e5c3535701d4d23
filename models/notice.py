"""Agents' notices (in-app), their daily digest preference and the digests already queued."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import LabelledEnum, UTCDateTime, db, str_enum, utcnow


class NoticeKind(LabelledEnum):
    NEW_CASE = "new_case", _l("Nouvelle demande dans votre service")
    TAXPAYER_REPLIED = "taxpayer_replied", _l("Réponse de l'usager à une demande que vous traitez")
    FORWARDED = "forwarded", _l("Demande transmise à votre service")
    DUE_TOMORROW = "due_tomorrow", _l("Échéance demain")


class AgentNotice(db.Model):  # type: ignore[name-defined]
    """One notice for one agent, written in the transaction of the event that causes it.

    It names the case only by its id: the list shows the reference and nothing of the
    taxpayer's text.
    """

    __tablename__ = "agent_notice"
    __table_args__ = (
        # The header counter and the list: an agent's unread notices, newest first.
        Index("ix_agent_notice_agent_read_created", "agent_id", "read_at", "created_at"),
        Index("ix_agent_notice_case", "case_id"),
        # A due-date notice once per case and day, whatever the number of job runs.
        UniqueConstraint("agent_id", "kind", "case_id", "day", name="uq_agent_notice_once"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="RESTRICT"))
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
    # The Paris day it is about (the due-date notices); None for the others.
    day: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AgentPreference(db.Model):  # type: ignore[name-defined]
    """What an agent chose for themselves: the daily e-mail digest of their notices."""

    __tablename__ = "agent_preference"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("ab_user.id", ondelete="RESTRICT"), primary_key=True
    )
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AgentDigest(db.Model):  # type: ignore[name-defined]
    """The digest of one agent for one day, queued once: the job can run twice."""

    __tablename__ = "agent_digest"
    __table_args__ = (UniqueConstraint("agent_id", "day", name="uq_agent_digest_agent_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date)
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
