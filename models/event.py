"""The append-only event log of every change, and the log of agents' consultations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.agent import Agent
from models.base import LabelledEnum, UTCDateTime, db, str_enum, utcnow
from models.office import Office


class EventKind(LabelledEnum):
    RECEIVED = "received", _l("Demande reçue")
    CONTACT_RECORDED = "contact_recorded", _l("Contact enregistré")
    TAXPAYER_REPLIED = "taxpayer_replied", _l("Réponse de l'usager")
    ANSWERED = "answered", _l("Réponse envoyée")
    INFORMATION_REQUESTED = "information_requested", _l("Demande de précision")
    NOTE_ADDED = "note_added", _l("Note interne ajoutée")
    ASSIGNED = "assigned", _l("Attribuée")
    TRANSFERRED = "transferred", _l("Transmise à un autre service")
    TRANSFER_ACKNOWLEDGED = "transfer_acknowledged", _l("Transmission prise en compte")
    STATUS_CHANGED = "status_changed", _l("Statut modifié")
    CLOSED = "closed", _l("Clôturée")
    REOPENED = "reopened", _l("Rouverte")
    ATTACHED_TO_TAXPAYER = "attached_to_taxpayer", _l("Rattachée à l'usager")
    ARCHIVED = "archived", _l("Archivée")
    WITHDRAWN = "withdrawn", _l("Retirée par l'usager")
    LINKED = "linked", _l("Liée à une autre demande")
    TAGGED = "tagged", _l("Étiquette ajoutée")
    UNTAGGED = "untagged", _l("Étiquette retirée")
    MERGED = "merged", _l("Doublon fusionné")
    LEGAL_HOLD_PLACED = "legal_hold_placed", _l("Gel juridique posé")
    LEGAL_HOLD_LIFTED = "legal_hold_lifted", _l("Gel juridique levé")
    # About an agent's account (``data["agent_id"]``), done by an administrator.
    AGENT_UNLOCKED = "agent_unlocked", _l("Compte d'agent débloqué")
    AGENT_PASSWORD_RESET = "agent_password_reset", _l("Mot de passe d'agent réinitialisé")
    AGENT_SECOND_FACTOR_RESET = (
        "agent_second_factor_reset",
        _l("Second facteur d'authentification d'agent réinitialisé"),
    )
    # Administration of the directory (``data`` says what).
    DIRECTORY_IMPORTED = "directory_imported", _l("Référentiel importé")
    SETTING_CHANGED = "setting_changed", _l("Paramètre modifié")


class Event(db.Model):  # type: ignore[name-defined]
    """One typed change; never updated nor deleted by the application (see app.events)."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_case_created", "case_id", "created_at", "id"),
        Index("ix_event_taxpayer_created", "taxpayer_id", "created_at"),
        Index("ix_event_office_kind_created", "office_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
    taxpayer_id: Mapped[int | None] = mapped_column(ForeignKey("taxpayer.id", ondelete="RESTRICT"))
    # The office the case was in when it happened (steering counts by it).
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    actor_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", ondelete="RESTRICT")
    )
    actor_taxpayer_id: Mapped[int | None] = mapped_column(
        ForeignKey("taxpayer.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor_agent: Mapped[Agent | None] = relationship()
    office: Mapped[Office | None] = relationship()


class AccessLog(db.Model):  # type: ignore[name-defined]
    """An agent's consultation of a taxpayer's data: who, from which office, what, when, why."""

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_taxpayer_created", "taxpayer_id", "created_at"),
        Index("ix_access_log_agent_created", "agent_id", "created_at"),
        Index("ix_access_log_office_created", "office_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="RESTRICT"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"))
    taxpayer_id: Mapped[int | None] = mapped_column(ForeignKey("taxpayer.id", ondelete="RESTRICT"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
    # "case", "attachment", "summary", "search"...
    object_kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    agent: Mapped[Agent] = relationship()
    office: Mapped[Office | None] = relationship()
