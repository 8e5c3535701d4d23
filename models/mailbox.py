"""The offices' shared mailboxes (BALF) and the e-mails their SMTP endpoint received.

An ``InboundEmail`` row is written, raw message included, before the endpoint answers 250: what
the endpoint acknowledged is in the database. A job (or the sweep) then turns it into a case of
channel ``email``; the raw message is dropped then, its headers kept (docs/decisions/0018).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import LabelledEnum, UTCDateTime, db, str_enum, utcnow
from models.case import Case
from models.office import Office
from models.reference import Topic


class MailboxStatus(LabelledEnum):
    OPEN = "open", _l("Ouverte")
    # The cut-over switch: the sender gets the automatic reply; only the count is kept.
    CLOSED = "closed", _l("Fermée (réponse automatique seulement)")


class Mailbox(db.Model):  # type: ignore[name-defined]
    """One address of an office's shared mailbox (directory data)."""

    __tablename__ = "mailbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Kept in lower case: the endpoint looks recipients up by it.
    address: Mapped[str] = mapped_column(String(320), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"), index=True)
    status: Mapped[MailboxStatus] = mapped_column(
        str_enum(MailboxStatus), default=MailboxStatus.OPEN
    )
    # The topic given to the cases made from its e-mails (None: the first active topic).
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic.id", ondelete="RESTRICT"))
    # The automatic reply's text (None: the national text, app.mailbox.intake.DEFAULT_AUTO_REPLY).
    auto_reply: Mapped[str | None] = mapped_column(Text)
    auto_reply_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # E-mails received while closed: counted, nothing else kept.
    closed_count: Mapped[int] = mapped_column(Integer, default=0)
    received_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    office: Mapped[Office] = relationship()
    topic: Mapped[Topic | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status is MailboxStatus.OPEN

    def __str__(self) -> str:
        return self.address


class InboundStatus(LabelledEnum):
    PENDING = "pending", _l("À traiter")
    DONE = "done", _l("Enregistré")
    DUPLICATE = "duplicate", _l("Doublon ignoré")
    FAILED = "failed", _l("Échec du traitement")


class InboundEmail(db.Model):  # type: ignore[name-defined]
    """One e-mail accepted by the endpoint for one mailbox."""

    __tablename__ = "inbound_email"
    __table_args__ = (
        # The sweep: what is still to process, oldest first.
        Index("ix_inbound_email_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id", ondelete="RESTRICT"))
    # The SMTP envelope: MAIL FROM (the Return-Path; empty for a bounce) and RCPT TO.
    envelope_from: Mapped[str] = mapped_column(String(320), default="")
    recipient: Mapped[str] = mapped_column(String(320))
    # The message as received; None once processed (its headers stay in ``headers``).
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[InboundStatus] = mapped_column(
        str_enum(InboundStatus), default=InboundStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set while a worker processes it; a stale lock (worker killed) is taken over by the sweep.
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(998))
    # sha256 of (mailbox, Message-ID), set when processed: a second copy fails the unique index.
    dedupe_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    sender: Mapped[str | None] = mapped_column(String(320))
    sender_name: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(String(255))
    # The headers as received (text), kept for the agents and for evidence.
    headers: Mapped[str | None] = mapped_column(Text)
    # Why the sender was or was not matched to a taxpayer, and what was left out.
    match_note: Mapped[str | None] = mapped_column(String(255))
    refused_parts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    defects: Mapped[list[str]] = mapped_column(JSON, default=list)
    auto_replied: Mapped[bool] = mapped_column(Boolean, default=False)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case.id", ondelete="RESTRICT"), index=True
    )
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    mailbox: Mapped[Mailbox] = relationship()
    case: Mapped[Case | None] = relationship()
