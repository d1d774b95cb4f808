"""The core's models, one module per area."""

from .answers import Answer
from .customers import MERGE_UNDO_WINDOW, Customer, CustomerAttribute, CustomerIdentity, CustomerMerge
from .live import ChangeCounter, LiveEvent
from .outbound import OutboundMessage, SendSlot
from .rules import Rule, RuleFiring
from .schedules import BusinessHours, BusinessHoursInterval, Holiday, Weekday, validate_timezone_name
from .sla import SlaPeriod, SlaReport
from .timeline import Attachment, Conversation, CustomerReaction, TimelineItem
from .topics import Topic

__all__ = [
    "Answer",
    "Topic",
    "MERGE_UNDO_WINDOW",
    "Attachment",
    "BusinessHours",
    "BusinessHoursInterval",
    "ChangeCounter",
    "Conversation",
    "Customer",
    "CustomerAttribute",
    "CustomerIdentity",
    "CustomerMerge",
    "CustomerReaction",
    "Holiday",
    "LiveEvent",
    "OutboundMessage",
    "Rule",
    "RuleFiring",
    "SendSlot",
    "SlaPeriod",
    "SlaReport",
    "TimelineItem",
    "Weekday",
    "validate_timezone_name",
]
