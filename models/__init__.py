"""The domain's SQLAlchemy models, one module per aggregate. No Flask request or view code here."""

from models.agent import Agent
from models.base import db, utcnow
from models.case import (
    OPEN_STATUSES,
    Attachment,
    AuthorKind,
    Case,
    CaseStatus,
    Channel,
    Message,
    Transfer,
)
from models.event import AccessLog, Event, EventKind
from models.mailbox import InboundEmail, InboundStatus, Mailbox, MailboxStatus
from models.notice import AgentDigest, AgentNotice, AgentPreference, NoticeKind
from models.notification import Notification, NotificationKind, NotificationStatus
from models.office import KindCode, Office, OfficeKind, OfficeTerritory, SteeringLevel
from models.reference import (
    ClosingOutcome,
    ReplyTemplate,
    RoutingRule,
    Setting,
    TaxMatter,
    TemplateAction,
    Topic,
)
from models.report import DifficultyReport, ReportStatus, ReportTheme
from models.retention import RetentionCategory, RetentionItem, RetentionRun
from models.session import LoginSession
from models.steering import SteeringChange, SteeringCount, SteeringDuration, SteeringTransfer
from models.tag import CaseLink, CaseLinkKind, CaseTag, Tag
from models.taxpayer import Taxpayer, TaxpayerKind
from models.training import TrainingProgress
from models.worker import WorkerHeartbeat

__all__ = [
    "OPEN_STATUSES",
    "AccessLog",
    "Agent",
    "AgentDigest",
    "AgentNotice",
    "AgentPreference",
    "Attachment",
    "AuthorKind",
    "Case",
    "CaseLink",
    "CaseLinkKind",
    "CaseStatus",
    "CaseTag",
    "Channel",
    "ClosingOutcome",
    "DifficultyReport",
    "Event",
    "InboundEmail",
    "InboundStatus",
    "KindCode",
    "EventKind",
    "LoginSession",
    "Mailbox",
    "MailboxStatus",
    "Message",
    "NoticeKind",
    "Notification",
    "NotificationKind",
    "NotificationStatus",
    "Office",
    "OfficeKind",
    "OfficeTerritory",
    "ReplyTemplate",
    "ReportStatus",
    "ReportTheme",
    "RetentionCategory",
    "RetentionItem",
    "RetentionRun",
    "RoutingRule",
    "Setting",
    "SteeringLevel",
    "SteeringChange",
    "SteeringCount",
    "SteeringDuration",
    "Tag",
    "SteeringTransfer",
    "TaxMatter",
    "Taxpayer",
    "TaxpayerKind",
    "TemplateAction",
    "Topic",
    "TrainingProgress",
    "Transfer",
    "WorkerHeartbeat",
    "db",
    "utcnow",
]
