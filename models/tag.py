"""Tags an office puts on its cases, and links between two cases."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import LabelledEnum, UTCDateTime, db, str_enum, utcnow


class Tag(db.Model):  # type: ignore[name-defined]
    """A label of one office (managed by its office manager)."""

    __tablename__ = "tag"
    __table_args__ = (UniqueConstraint("office_id", "name", name="uq_tag_office_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(60))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __str__(self) -> str:
        return self.name


class CaseTag(db.Model):  # type: ignore[name-defined]
    """A tag on a case."""

    __tablename__ = "case_tag"
    __table_args__ = (Index("ix_case_tag_tag_case", "tag_id", "case_id"),)

    case_id: Mapped[int] = mapped_column(
        ForeignKey("case.id", ondelete="RESTRICT"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="RESTRICT"), primary_key=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseLinkKind(LabelledEnum):
    RELATED = "related", _l("Demande liée")
    # ``case_id`` (the duplicate) was merged into ``other_case_id``.
    MERGED = "merged", _l("Doublon fusionné")


class CaseLink(db.Model):  # type: ignore[name-defined]
    """Two cases about the same thing; shown on both and on the summary sheet.

    A related link is stored once, the smaller id first; a merge goes from the duplicate to the
    case it was merged into.
    """

    __tablename__ = "case_link"
    __table_args__ = (
        UniqueConstraint("case_id", "other_case_id", name="uq_case_link_pair"),
        Index("ix_case_link_other", "other_case_id"),
        CheckConstraint("case_id <> other_case_id", name="two_requests"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
    other_case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
    kind: Mapped[CaseLinkKind] = mapped_column(str_enum(CaseLinkKind))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
