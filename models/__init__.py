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
from models.office import Office, OfficeKind, OfficeTerritory
from models.reference import ReplyTemplate, RoutingRule, Setting, TaxMatter, Topic
from models.steering import SteeringChange, SteeringCount, SteeringDuration, SteeringTransfer
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
    "EventKind",
    "Message",
    "Notification",
    "NotificationKind",
    "NotificationStatus",
    "Office",
    "OfficeKind",
    "OfficeTerritory",
    "ReplyTemplate",
    "RoutingRule",
    "Setting",
    "SteeringChange",
    "SteeringCount",
    "SteeringDuration",
    "SteeringTransfer",
    "TaxMatter",
    "Taxpayer",
    "TaxpayerKind",
    "Topic",
    "Transfer",
    "db",
    "utcnow",
]
