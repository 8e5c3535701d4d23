"""The notification outbox: a row written in the same transaction as what causes it."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import LabelledEnum, UTCDateTime, db, str_enum, utcnow


class NotificationKind(LabelledEnum):
    NEW_MESSAGE = "new_message", _l("Nouveau message")
    EMAIL_CONFIRMATION = "email_confirmation", _l("Confirmation de l'adresse électronique")
    PASSWORD_RESET = "password_reset", _l("Réinitialisation du mot de passe")
    SIGN_IN_CODE = "sign_in_code", _l("Code de connexion")
    AGENT_DIGEST = "agent_digest", _l("Récapitulatif quotidien d'un agent")
    MAILBOX_AUTO_REPLY = "mailbox_auto_reply", _l("Réponse automatique d'une boîte de service")
    MAILBOX_ANSWER = "mailbox_answer", _l("Réponse d'un agent par courriel")
    # To a directorate's correspondents: a difficulty was reported (a link only).
    REPORT_FILED = "report_filed", _l("Signalement de difficulté aux correspondants")


class NotificationStatus(LabelledEnum):
    PENDING = "pending", _l("À envoyer")
    SENT = "sent", _l("Envoyé")
    FAILED = "failed", _l("Échec définitif")


class Notification(db.Model):  # type: ignore[name-defined]
    """One e-mail to send. The body is rendered when the row is written; the job only sends.

    A new-message alert carries no content, only a link to sign in.
    """

    __tablename__ = "notification"
    __table_args__ = (
        # The sweep: what is still due, oldest first.
        Index("ix_notification_status_next", "status", "next_attempt_at"),
        # Automatic replies: once per sender per period (app.mailbox.intake).
        Index("ix_notification_kind_recipient_created", "kind", "recipient", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind))
    status: Mapped[NotificationStatus] = mapped_column(
        str_enum(NotificationStatus), default=NotificationStatus.PENDING
    )
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    taxpayer_id: Mapped[int | None] = mapped_column(
        ForeignKey("taxpayer.id", ondelete="RESTRICT"), index=True
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="RESTRICT"))
    # With message_id, the message's partition key (models.case.Attachment says why).
    message_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set while a worker sends it; a stale lock (worker killed) is taken over by the sweep.
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Mailbox e-mails (app.mailbox): the From (the office's mailbox, so that answers come back
    # to it; None: MAIL_DEFAULT_SENDER) and the Message-ID answered (In-Reply-To, References).
    sender: Mapped[str | None] = mapped_column(String(320))
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
