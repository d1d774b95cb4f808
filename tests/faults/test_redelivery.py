"""Meta delivers at least once: every payload three times, in shuffled order, equals one delivery."""

import json
import random

import pytest

from channels_app.meta import processing as webhooks
from channels_app.meta.models import AccountEvent, WebhookEvent
from conversations.models import Conversation, CustomerReaction, TimelineItem
from tests.factories import make_entry_point, make_inbox, make_instagram_account
from tests.meta_payloads import IG_ACCOUNT_ID, load

# Echoes and read receipts are left out on purpose: they refer to messages the
# app sent, and their effect depends on that send existing first.
PAYLOADS = [
    "text_message",
    "image_message",
    "story_reply",
    "story_mention",
    "reaction",
    "unreact",
    "deleted",
    "unsupported",
    "postback",
    "batched",
    "messenger_text",
]


@pytest.fixture
def account(db):
    make_inbox("Instagram", default=True)
    return make_instagram_account(make_entry_point(external_id=IG_ACCOUNT_ID), page_id="100000000000001")


def deliver_all(names):
    for name in names:
        event = WebhookEvent.objects.create(object="instagram", body=json.dumps(load(name)))
        webhooks.process_webhook_event(event.pk)


def state():
    return {
        "conversations": Conversation.objects.count(),
        "items": sorted(
            TimelineItem.objects.values_list("external_id", "kind", "text", "deleted_by_customer", "unsupported")
        ),
        "reactions": sorted(CustomerReaction.objects.values_list("message_external_id", "action")),
        "account_events": sorted(AccountEvent.objects.values_list("kind", "external_id")),
        "failed": WebhookEvent.objects.filter(status="failed").count(),
    }


def test_three_shuffled_redeliveries_end_in_the_state_of_one_delivery(account):
    deliver_all(PAYLOADS)
    once = state()
    Conversation.objects.all().delete()
    for model in (TimelineItem, CustomerReaction, AccountEvent, WebhookEvent):
        model.objects.all().delete()

    shuffled = PAYLOADS * 3
    random.Random(20261125).shuffle(shuffled)
    deliver_all(shuffled)

    assert state() == once
    assert once["failed"] == 0
    assert once["items"], "the payloads created timeline items"
