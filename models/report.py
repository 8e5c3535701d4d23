"""A difficulty an agent reports to their directorate's correspondents (issue 19)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.agent import Agent
from models.base import LabelledEnum, UTCDateTime, db, str_enum, utcnow
from models.case import Case
from models.office import Office


class ReportTheme(LabelledEnum):
    TOOL = "tool", _l("L'outil e-contacts")
    PROCEDURE = "procedure", _l("Une procédure")
    ACCESS = "access", _l("Accès et droits")
    TRAINING = "training", _l("Formation et documentation")
    OTHER = "other", _l("Autre")


class ReportStatus(LabelledEnum):
    OPEN = "open", _l("Ouvert")
    ANSWERED = "answered", _l("Répondu")
    RAISED = "raised", _l("Remonté au niveau national")
    CLOSED = "closed", _l("Clôturé")

    @property
    def is_open(self) -> bool:
        return self is not ReportStatus.CLOSED


class DifficultyReport(db.Model):  # type: ignore[name-defined]
    """What an agent reported, from which page and when; the answer of a correspondent (or of an
    administrator once raised). It names a request only by id, when the agent gave a reference
    they may open; nothing of the taxpayer is copied here."""

    __tablename__ = "difficulty_report"
    __table_args__ = (
        Index("ix_difficulty_report_directorate_status", "directorate_id", "status", "reported_at"),
        Index("ix_difficulty_report_reporter", "reporter_id", "reported_at"),
        Index("ix_difficulty_report_status", "status", "reported_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="RESTRICT"))
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    # The directorate above the reporter's office when it was filed (None: no directorate above,
    # the report goes straight to the national level).
    directorate_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    theme: Mapped[ReportTheme] = mapped_column(str_enum(ReportTheme))
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus), default=ReportStatus.OPEN)
    description: Mapped[str] = mapped_column(Text)
    page_url: Mapped[str] = mapped_column(String(500), default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="RESTRICT")
    )
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    raised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    raise_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    reporter: Mapped[Agent] = relationship(foreign_keys=[reporter_id])
    answered_by: Mapped[Agent | None] = relationship(foreign_keys=[answered_by_id])
    office: Mapped[Office] = relationship(foreign_keys=[office_id])
    directorate: Mapped[Office | None] = relationship(foreign_keys=[directorate_id])
    case: Mapped[Case | None] = relationship()
