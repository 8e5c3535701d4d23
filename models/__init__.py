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
from models.notification import Notification, NotificationKind, NotificationStatus
from models.office import KindCode, Office, OfficeKind, OfficeTerritory, SteeringLevel
from models.reference import ReplyTemplate, RoutingRule, Setting, TaxMatter, Topic
from models.retention import RetentionCategory, RetentionItem, RetentionRun
from models.steering import SteeringChange, SteeringCount, SteeringDuration
from models.taxpayer import Taxpayer, TaxpayerKind

__all__ = [
    "OPEN_STATUSES",
    "AccessLog",
    "Agent",
    "Attachment",
    "AuthorKind",
    "Case",
    "CaseStatus",
    "Channel",
    "Event",
    "KindCode",
    "EventKind",
    "Message",
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
    "TaxMatter",
    "Taxpayer",
    "TaxpayerKind",
    "Topic",
    "Transfer",
    "db",
    "utcnow",
]
