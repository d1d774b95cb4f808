"""Helpers for the SLA, Business Hours and Rules tests."""

import datetime

from conversations import signals
from conversations.models import BusinessHours, BusinessHoursInterval, Conversation, Holiday, TimelineItem
from tests.factories import make_conversation, make_customer, make_instagram_account, make_item


def make_business_hours(
    timezone="UTC",
    days=(0, 1, 2, 3, 4),
    opens=datetime.time(9),
    closes=datetime.time(17),
    holidays=(),
    auto_reply_text="",
    name=None,
):
    business_hours = BusinessHours.objects.create(
        name=name or f"Hours {BusinessHours.objects.count() + 1}", timezone=timezone, auto_reply_text=auto_reply_text
    )
    for weekday in days:
        BusinessHoursInterval.objects.create(
            business_hours=business_hours, weekday=weekday, opens_at=opens, closes_at=closes
        )
    for date in holidays:
        Holiday.objects.create(business_hours=business_hours, date=date, name="Holiday")
    return business_hours


def make_instagram_conversation(inbox, customer=None, entry_point=None, **fields):
    """A conversation whose entry point can send (an Instagram account and the customer's IGSID)."""
    entry_point = entry_point or make_instagram_account().entry_point
    customer = customer or make_customer(entry_point)
    return make_conversation(inbox=inbox, entry_point=entry_point, customer=customer, **fields)


def receive(conversation, text="Hello", conversation_created=False, **fields):
    """Store a customer message and announce it the way the inbound path does."""
    item = make_item(conversation, TimelineItem.Kind.CUSTOMER_MESSAGE, text=text, **fields)
    # As conversations.inbound does: the messaging window counts from here.
    Conversation.touch(conversation.pk, last_customer_message_at=item.occurred_at)
    conversation.last_customer_message_at = item.occurred_at
    signals.customer_message_received.send(
        sender=TimelineItem, conversation=conversation, item=item, conversation_created=conversation_created
    )
    conversation.refresh_from_db()
    return item


def rows_post(conditions, actions, initial_conditions=0, initial_actions=0, **fields):
    """The POST of Settings › Rules' form: `conditions` as (field, operator, values) and `actions` as
    (field, values) rows, the way the browser sends them (every value input of a row, most of them empty)."""
    data = {"name": "A rule", "position": "0", **fields}
    for prefix, rows, initial in (
        ("conditions", [(field, op, values) for field, op, values in conditions], initial_conditions),
        ("actions", [(field, "", values) for field, values in actions], initial_actions),
    ):
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = str(initial)
        for index, (field, operator, values) in enumerate(rows):
            data[f"{prefix}-{index}-field"] = field
            if prefix == "conditions":
                data[f"{prefix}-{index}-operator"] = operator
            for name, value in values.items():
                data[f"{prefix}-{index}-{name}"] = value
    return data
