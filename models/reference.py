"""The directory's reference data: topics, tax matters, routing rules, reply templates, settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import LabelledEnum, UTCDateTime, db, str_enum, utcnow
from models.office import Office, OfficeKind
from models.taxpayer import TaxpayerKind


class Topic(db.Model):  # type: ignore[name-defined]
    """What a case is about (motif); a topic with a parent is a sub-topic."""

    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(160))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("topic.id", ondelete="RESTRICT"), index=True
    )
    # None: offered to both kinds of taxpayer.
    taxpayer_kind: Mapped[TaxpayerKind | None] = mapped_column(str_enum(TaxpayerKind))
    # Days within which an answer is due (the on-time target of steering).
    target_days: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Topic | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Topic]] = relationship(back_populates="parent", order_by="Topic.position")

    @property
    def full_label(self) -> str:
        return f"{self.parent.label} — {self.label}" if self.parent else self.label

    def __str__(self) -> str:
        return self.full_label


class TaxMatter(db.Model):  # type: ignore[name-defined]
    """The tax a case is about (impôt concerné)."""

    __tablename__ = "tax_matter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(160))
    taxpayer_kind: Mapped[TaxpayerKind | None] = mapped_column(str_enum(TaxpayerKind))
    asks_year: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.label


class RoutingRule(db.Model):  # type: ignore[name-defined]
    """Topic × tax matter × taxpayer kind → the kind of office competent, or one given office;
    the most specific rule wins.

    With a kind, the office is the one of that kind competent for the taxpayer's commune.
    """

    __tablename__ = "routing_rule"
    __table_args__ = (
        CheckConstraint(
            "office_kind_id IS NOT NULL OR office_id IS NOT NULL", name="kind_or_office"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic.id", ondelete="RESTRICT"))
    tax_matter_id: Mapped[int | None] = mapped_column(
        ForeignKey("tax_matter.id", ondelete="RESTRICT")
    )
    taxpayer_kind: Mapped[TaxpayerKind | None] = mapped_column(str_enum(TaxpayerKind))
    office_kind_id: Mapped[int | None] = mapped_column(
        ForeignKey("office_kind.id", ondelete="RESTRICT")
    )
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    topic: Mapped[Topic | None] = relationship()
    tax_matter: Mapped[TaxMatter | None] = relationship()
    office_kind: Mapped[OfficeKind | None] = relationship()
    office: Mapped[Office | None] = relationship()

    @property
    def specificity(self) -> int:
        return sum(
            value is not None for value in (self.topic_id, self.tax_matter_id, self.taxpayer_kind)
        )

    def __str__(self) -> str:
        return f"{self.topic or '*'} / {self.tax_matter or '*'} → {self.office or self.office_kind}"


class ClosingOutcome(db.Model):  # type: ignore[name-defined]
    """How a case ended (issue), chosen from a list per topic when closing.

    ``topic_id`` None: offered for every topic. ``asks_text``: "Autre", whose words the agent
    types.
    """

    __tablename__ = "closing_outcome"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(160))
    topic_id: Mapped[int | None] = mapped_column(
        ForeignKey("topic.id", ondelete="RESTRICT"), index=True
    )
    asks_text: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    topic: Mapped[Topic | None] = relationship()

    def __str__(self) -> str:
        return self.label


class TemplateAction(LabelledEnum):
    """What applying a reply template (a macro) prepares besides its text."""

    ANSWER = "answer", _l("Répondre")
    REQUEST_INFORMATION = "request_information", _l("Demander une précision")
    ANSWER_AND_CLOSE = "answer_and_close", _l("Répondre et clôturer")


class ReplyTemplate(db.Model):  # type: ignore[name-defined]
    """A canned answer; ``{nom}``, ``{reference}``, ``{service}``, ``{date}`` are filled in.

    With an ``action`` it is a macro: one click prepares the message, its kind and, for
    "answer and close", the outcome; the agent still reads and edits before sending.
    """

    __tablename__ = "reply_template"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text)
    # None: offered to every office. Otherwise the office that owns it.
    office_id: Mapped[int | None] = mapped_column(
        ForeignKey("office.id", ondelete="RESTRICT"), index=True
    )
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic.id", ondelete="RESTRICT"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    action: Mapped[TemplateAction | None] = mapped_column(str_enum(TemplateAction))
    closing_outcome_id: Mapped[int | None] = mapped_column(
        ForeignKey("closing_outcome.id", ondelete="RESTRICT")
    )

    office: Mapped[Office | None] = relationship()
    topic: Mapped[Topic | None] = relationship()
    closing_outcome: Mapped[ClosingOutcome | None] = relationship()

    def __str__(self) -> str:
        return self.title


class Setting(db.Model):  # type: ignore[name-defined]
    """Settings an administrator changes at run time (the intake pause)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
