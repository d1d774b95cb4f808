"""Meta delivers at least once: every payload three times, in shuffled order, equals one delivery."""

import json
import random

import pytest

from channels_app.meta import processing as webhooks
from channels_app.meta.models import AccountEvent, WebhookEvent
from conversations.models import Conversation, CustomerIdentity, CustomerReaction, TimelineItem
from tests.factories import (
    make_entry_point,
    make_inbox,
    make_instagram_account,
    make_messenger_page,
    make_whatsapp_number,
)
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


# --- Messenger and WhatsApp: the same promise for `object: page` and `object: whatsapp_business_account` ---

# Echoes, deliveries, reads and statuses are left out as above: they refer to the app's own sends.
MESSENGER_PAYLOADS = [
    "messenger/text",
    "messenger/image",
    "messenger/audio",
    "messenger/file",
    "messenger/sticker",
    "messenger/fallback",
    "messenger/quick_reply",
    "messenger/postback",
    "messenger/reply_to",
    "messenger/referral_ad",
    "messenger/referral_shortlink",
    "messenger/reaction",
    "messenger/unreact",
    "messenger/deleted",
]
WHATSAPP_PAYLOADS = [
    "whatsapp/text",
    "whatsapp/text_reply",
    "whatsapp/image",
    "whatsapp/document",
    "whatsapp/location",
    "whatsapp/contacts",
    "whatsapp/button",
    "whatsapp/interactive_button_reply",
    "whatsapp/interactive_list_reply",
    "whatsapp/reaction",
    "whatsapp/reaction_removed",
    "whatsapp/unsupported",
    "whatsapp/batched",
]


def deliver_product(names):
    for name in names:
        payload = load(name)
        event = WebhookEvent.objects.create(object=payload["object"], body=json.dumps(payload))
        webhooks.process_webhook_event(event.pk)


def identities_state():
    return sorted(CustomerIdentity.objects.values_list("external_id", "attributes"), key=str)


@pytest.mark.parametrize(
    ("names", "make"),
    [
        (MESSENGER_PAYLOADS, lambda: make_messenger_page(page_id="100000000000001")),
        (WHATSAPP_PAYLOADS, make_whatsapp_number),
    ],
    ids=["messenger", "whatsapp"],
)
def test_three_shuffled_redeliveries_of_messenger_and_whatsapp_are_one_delivery(db, names, make):
    make_inbox("Messaging", default=True)
    make()
    deliver_product(names)
    once = {**state(), "identities": [(external_id, _without_times(a)) for external_id, a in identities_state()]}
    Conversation.objects.all().delete()
    for model in (TimelineItem, CustomerReaction, AccountEvent, WebhookEvent, CustomerIdentity):
        model.objects.all().delete()

    shuffled = names * 3
    random.Random(20261126).shuffle(shuffled)
    deliver_product(shuffled)

    again = {**state(), "identities": [(external_id, _without_times(a)) for external_id, a in identities_state()]}
    assert again == once
    assert once["failed"] == 0
    assert once["items"], "the payloads created timeline items"


def _without_times(attributes):
    # A referral remembers when it came; the same referral delivered again is still one.
    referrals = [{k: v for k, v in r.items() if k != "at"} for r in attributes.get("referrals", [])]
    return sorted(map(str, referrals))
