"""A case (demande) and its thread: messages, attachments, transfers between offices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.agent import Agent
from models.base import LabelledEnum, UTCDateTime, db, str_enum, utcnow
from models.office import Office
from models.reference import TaxMatter, Topic
from models.taxpayer import Taxpayer


class Channel(LabelledEnum):
    ONLINE = "online", _l("Internet")
    PHONE = "phone", _l("Téléphone")
    COUNTER = "counter", _l("Guichet")
    LETTER = "letter", _l("Courrier")
    # An e-mail to an office's shared mailbox (BALF), received by app.mailbox.
    EMAIL = "email", _l("Courriel")

    @property
    def recorded(self) -> bool:
        """Recorded by an agent (phone, counter, letter, e-mail), not sent online."""
        return self is not Channel.ONLINE


class CaseStatus(LabelledEnum):
    NEW = "new", _l("Nouvelle")
    IN_PROGRESS = "in_progress", _l("En cours")
    AWAITING_TAXPAYER = "awaiting_taxpayer", _l("En attente de l'usager")
    CLOSED = "closed", _l("Clôturée")

    @property
    def is_open(self) -> bool:
        return self is not CaseStatus.CLOSED

    @property
    def taxpayer_label(self) -> str:
        """The status in the taxpayer's plain words."""
        return str(
            {
                CaseStatus.NEW: _l("Envoyée"),
                CaseStatus.IN_PROGRESS: _l("En cours de traitement"),
                CaseStatus.AWAITING_TAXPAYER: _l("Votre réponse est attendue"),
                CaseStatus.CLOSED: _l("Répondue et clôturée"),
            }[self]
        )


OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.IN_PROGRESS, CaseStatus.AWAITING_TAXPAYER)


def taxpayer_status(status: CaseStatus, *, recorded_contact: bool, withdrawn: object) -> str:
    """A case's status in the taxpayer's words (``Case.taxpayer_status``), from its columns: a
    recorded contact was not "sent" by them; ``withdrawn`` is the case's ``withdrawn_at``."""
    if withdrawn is not None:
        return str(_l("Retirée"))
    if recorded_contact:
        if status is CaseStatus.CLOSED:
            return str(_l("Traité"))
        if status is CaseStatus.AWAITING_TAXPAYER:
            return status.taxpayer_label
        return str(_l("Suite en cours"))
    return status.taxpayer_label


class Case(db.Model):  # type: ignore[name-defined]
    """One case of a taxpayer, whatever its channel."""

    __tablename__ = "case"
    __table_args__ = (
        # The office inbox: open/closed tabs, oldest first, keyset pagination on (received_at, id).
        Index("ix_case_office_status_received", "office_id", "status", "received_at", "id"),
        Index(
            "ix_case_office_assignee_status", "office_id", "assignee_id", "status", "received_at"
        ),
        # The taxpayer's inbox and the summary sheet: newest activity first.
        Index("ix_case_taxpayer_activity", "taxpayer_id", "last_activity_at"),
        # The summary sheet's timeline: one taxpayer's cases, newest received first.
        Index("ix_case_taxpayer_received", "taxpayer_id", "received_at", "id"),
        # Steering and retention scans by date.
        Index("ix_case_received", "received_at"),
        # The full-text search's walk of an office's newest cases and its keyset (decision 0022).
        Index("ix_case_office_received_id", "office_id", "received_at", "id"),
        # Steering: a subtree's cases received in a period, answered from the index alone.
        Index(
            "ix_case_office_received_steering",
            "office_id",
            "received_at",
            postgresql_include=[
                "channel",
                "topic_id",
                "tax_matter_id",
                "status",
                "first_answer_at",
                "closed_at",
                "due_at",
            ],
        ),
        # Steering: a subtree's open backlog (ages, awaiting, overdue) from the index alone.
        Index(
            "ix_case_open_office_steering",
            "office_id",
            "received_at",
            postgresql_include=["status", "first_answer_at", "closed_at", "due_at"],
            postgresql_where=text("status <> 'closed'"),
            sqlite_where=text("status <> 'closed'"),
        ),
        CheckConstraint("version > 0", name="version_positive"),
    )

    # The attributes the steering rollups depend on keep their old value when set
    # (active_history), for the journal of app/steering/rollups.py.
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    # None only for a contact recorded for someone not yet known (identity given at the counter).
    taxpayer_id: Mapped[int | None] = mapped_column(ForeignKey("taxpayer.id", ondelete="RESTRICT"))
    declared_identity: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), active_history=True)
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topic.id", ondelete="RESTRICT"), active_history=True
    )
    tax_matter_id: Mapped[int | None] = mapped_column(
        ForeignKey("tax_matter.id", ondelete="RESTRICT"), active_history=True
    )
    tax_year: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus), default=CaseStatus.NEW)
    office_id: Mapped[int] = mapped_column(
        ForeignKey("office.id", ondelete="RESTRICT"), active_history=True
    )
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="RESTRICT"))
    # Who recorded it (phone, counter, letter); None for a case the taxpayer sent online.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="RESTRICT"))
    received_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, active_history=True
    )
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outcome: Mapped[str | None] = mapped_column(String(255))
    # A case written after the reopening period of an earlier one links to it.
    linked_case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
    # Recorded contacts: does the taxpayer see it in their history (the agent chooses each time).
    visible_to_taxpayer: Mapped[bool] = mapped_column(Boolean, default=True)
    # The office that recorded a phone, counter or letter contact: steering counts the contact in
    # its volumes even after it was forwarded (None for online cases).
    recording_office_id: Mapped[int | None] = mapped_column(
        ForeignKey("office.id", ondelete="RESTRICT"), active_history=True
    )
    # The taxpayer withdrew the case before any answer: kept, closed, counted in steering.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    unread_by_taxpayer: Mapped[bool] = mapped_column(Boolean, default=False)
    unread_by_office: Mapped[bool] = mapped_column(Boolean, default=True)
    # Forwarded to this office and not yet acknowledged by it.
    awaiting_acknowledgement: Mapped[bool] = mapped_column(Boolean, default=False)
    # The form's one-time token: a double submit finds the case already made.
    submission_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Legal hold on this case (app.retention.holds): retention skips it (``under_legal_hold``).
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped by every change of status, office or assignee: an action taken on an older
    # version of the page (someone else just acted) is refused as stale.
    version: Mapped[int] = mapped_column(Integer, default=1)

    taxpayer: Mapped[Taxpayer | None] = relationship()
    topic: Mapped[Topic] = relationship()
    tax_matter: Mapped[TaxMatter | None] = relationship()
    office: Mapped[Office] = relationship(foreign_keys=[office_id])
    recording_office: Mapped[Office | None] = relationship(foreign_keys=[recording_office_id])
    assignee: Mapped[Agent | None] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[Agent | None] = relationship(foreign_keys=[created_by_id])
    linked_case: Mapped[Case | None] = relationship(remote_side=[id])
    messages: Mapped[list[Message]] = relationship(
        back_populates="case", order_by="(Message.created_at, Message.id)"
    )
    transfers: Mapped[list[Transfer]] = relationship(
        back_populates="case", order_by="(Transfer.created_at, Transfer.id)"
    )

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def is_recorded_contact(self) -> bool:
        """A phone call, counter visit or letter recorded by an agent, not sent by the taxpayer."""
        return self.channel.recorded

    @property
    def taxpayer_status(self) -> str:
        """The status in the taxpayer's words: a recorded contact was not "sent" by them."""
        return taxpayer_status(
            self.status, recorded_contact=self.is_recorded_contact, withdrawn=self.withdrawn_at
        )

    @property
    def under_legal_hold(self) -> bool:
        """Held itself, or through its taxpayer (the badge agents see; retention skips it)."""
        return self.legal_hold or bool(self.taxpayer is not None and self.taxpayer.legal_hold)

    def __str__(self) -> str:
        return self.reference


# The office inbox's list orders (views.agent.inbox), one partial index per tab: created by the
# migration ``b1e7a3c90d42_agent_inbox_and_search_indexes`` and declared here, on the model, so
# that the metadata matches the schema. The predicates are written as the inbox renders them.
_OPEN = "status <> 'closed'"
_FORWARDED: dict[str, Any] = {
    "sqlite_where": text("awaiting_acknowledgement = 1"),
    "postgresql_where": text("awaiting_acknowledgement = true"),
}


def _partial(where: str) -> dict[str, Any]:
    return {"sqlite_where": text(where), "postgresql_where": text(where)}


INBOX_INDEXES = (
    Index(
        "ix_case_open_office_received",
        Case.office_id,
        Case.received_at,
        Case.id,
        **_partial(_OPEN),
    ),
    Index("ix_case_open_office_due", Case.office_id, Case.due_at, Case.id, **_partial(_OPEN)),
    Index(
        "ix_case_unassigned_office_received",
        Case.office_id,
        Case.received_at,
        Case.id,
        **_partial(f"assignee_id IS NULL AND {_OPEN}"),
    ),
    Index(
        "ix_case_open_office_assignee_received",
        Case.office_id,
        Case.assignee_id,
        Case.received_at,
        Case.id,
        **_partial(_OPEN),
    ),
    Index(
        "ix_case_forwarded_office_received",
        Case.office_id,
        Case.received_at,
        Case.id,
        **_FORWARDED,
    ),
)


class AuthorKind(LabelledEnum):
    TAXPAYER = "taxpayer", _l("Usager")
    AGENT = "agent", _l("Agent")


def _office_of_case(context: Any) -> int | None:
    """Default of ``Message.office_id``: the office of the message's request."""
    case_id = context.get_current_parameters().get("case_id")
    table = Case.__table__
    return context.connection.scalar(select(table.c.office_id).where(table.c.id == case_id))


class Message(db.Model):  # type: ignore[name-defined]
    """One message of a thread; ``internal`` notes are seen by agents only."""

    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_case_created", "case_id", "created_at", "id"),
        CheckConstraint(
            "(author_kind = 'taxpayer' AND internal = false) OR author_kind = 'agent'",
            name="taxpayer_never_internal",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
    # The office of its request, copied so that the full-text index can be scoped by office
    # (decision 0016): written with the message, moved with the request by ``transfer_case``.
    # Left out, it is read from the request at insert time (one query more).
    office_id: Mapped[int] = mapped_column(
        ForeignKey("office.id", ondelete="RESTRICT"), default=_office_of_case
    )
    author_kind: Mapped[AuthorKind] = mapped_column(str_enum(AuthorKind))
    author_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="RESTRICT")
    )
    # The office the agent wrote from (what the taxpayer sees as author).
    author_office_id: Mapped[int | None] = mapped_column(
        ForeignKey("office.id", ondelete="RESTRICT")
    )
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    # An agent's message that asks the taxpayer for information.
    requests_information: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Read receipt: when the other side first read it.
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submission_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    case: Mapped[Case] = relationship(back_populates="messages")
    author_agent: Mapped[Agent | None] = relationship()
    author_office: Mapped[Office | None] = relationship(foreign_keys=[author_office_id])
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id"
    )


class Attachment(db.Model):  # type: ignore[name-defined]
    """A file attached to a message, stored outside the web root under a random name."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="RESTRICT"), index=True
    )
    # The message's ``created_at``, its partition key: on PostgreSQL the foreign key is
    # (message_id, message_created_at) -> message (id, created_at) (docs/decisions/0021). Filled
    # at insert from the message (app.platform.db).
    message_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    message: Mapped[Message] = relationship(back_populates="attachments")


class Transfer(db.Model):  # type: ignore[name-defined]
    """One move of a case to another office, with its mandatory reason."""

    __tablename__ = "transfer"
    __table_args__ = (
        Index("ix_transfer_case_created", "case_id", "created_at"),
        Index("ix_transfer_to_office_created", "to_office_id", "created_at"),
        Index("ix_transfer_from_office_created", "from_office_id", "created_at"),
        CheckConstraint("from_office_id <> to_office_id", name="moves"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
    from_office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    to_office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="RESTRICT")
    )

    case: Mapped[Case] = relationship(back_populates="transfers")
    from_office: Mapped[Office] = relationship(foreign_keys=[from_office_id])
    to_office: Mapped[Office] = relationship(foreign_keys=[to_office_id])
    agent: Mapped[Agent | None] = relationship(foreign_keys=[agent_id])
    acknowledged_by: Mapped[Agent | None] = relationship(foreign_keys=[acknowledged_by_id])
