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
from models.retention import RetentionCategory, RetentionItem, RetentionRun
from models.session import LoginSession
from models.steering import SteeringChange, SteeringCount, SteeringDuration, SteeringTransfer
from models.tag import CaseLink, CaseLinkKind, CaseTag, Tag
from models.taxpayer import Taxpayer, TaxpayerKind
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
    "Event",
    "KindCode",
    "EventKind",
    "LoginSession",
    "Message",
    "NoticeKind",
    "Notification",
    "NotificationKind",
    "NotificationStatus",
    "Office",
    "OfficeKind",
    "OfficeTerritory",
    "ReplyTemplate",
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
    "Transfer",
    "WorkerHeartbeat",
    "db",
    "utcnow",
]
