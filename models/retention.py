"""The report of each retention run: counts, and the references of what it archived, purged or
skipped under legal hold (never the contents). Written by ``app.retention.apply_retention``."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import LabelledEnum, UTCDateTime, db, str_enum, utcnow


class RetentionCategory(LabelledEnum):
    ARCHIVED = "archived", _l("Demandes archivées")
    PURGED = "purged", _l("Demandes supprimées")
    NOTES = "notes", _l("Notes internes supprimées")
    HELD = "held", _l("Demandes ignorées (gel juridique)")
    # A year's partition of the history dropped whole (reference: the partition's name).
    PARTITION = "partition", _l("Années d'historique supprimées")
    # Its rows kept (moved out first): open or recent cases, legal holds.
    PARTITION_KEPT = (
        "partition_kept",
        _l(
            "Lignes conservées avant suppression d'une année (demandes ouvertes, récentes ou sous "
            "gel juridique)"
        ),
    )


class RetentionRun(db.Model):  # type: ignore[name-defined]
    __tablename__ = "retention_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # None while it runs (or if it stopped half-way: its batches done so far are committed).
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    archive_before: Mapped[datetime] = mapped_column(UTCDateTime())
    purge_before: Mapped[datetime] = mapped_column(UTCDateTime())
    notes_before: Mapped[datetime] = mapped_column(UTCDateTime())
    archived: Mapped[int] = mapped_column(Integer, default=0)
    purged_cases: Mapped[int] = mapped_column(Integer, default=0)
    purged_messages: Mapped[int] = mapped_column(Integer, default=0)
    purged_attachments: Mapped[int] = mapped_column(Integer, default=0)
    purged_notes: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)

    items: Mapped[list[RetentionItem]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )


class RetentionItem(db.Model):  # type: ignore[name-defined]
    """One case a run archived, purged, thinned (notes) or skipped (hold): its reference and
    how many messages and attachments went, not what they said."""

    __tablename__ = "retention_item"
    __table_args__ = (Index("ix_retention_item_run_category", "run_id", "category", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("retention_run.id", ondelete="CASCADE"))
    category: Mapped[RetentionCategory] = mapped_column(str_enum(RetentionCategory))
    # The case's reference (kept as text: a purged case no longer exists).
    reference: Mapped[str] = mapped_column(String(16))
    messages: Mapped[int] = mapped_column(Integer, default=0)
    attachments: Mapped[int] = mapped_column(Integer, default=0)

    run: Mapped[RetentionRun] = relationship(back_populates="items")
