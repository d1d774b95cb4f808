"""The core's models, one module per area."""

from .customers import Customer, CustomerIdentity
from .live import LiveEvent
from .outbound import OutboundMessage, SendSlot
from .rules import Rule, RuleFiring
from .schedules import BusinessHours, BusinessHoursInterval, Holiday, Weekday, validate_timezone_name
from .sla import SlaPeriod, SlaReport
from .timeline import Attachment, Conversation, CustomerReaction, TimelineItem

__all__ = [
    "Attachment",
    "BusinessHours",
    "BusinessHoursInterval",
    "Conversation",
    "Customer",
    "CustomerIdentity",
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
