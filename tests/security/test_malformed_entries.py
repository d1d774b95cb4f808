"""Finding 11: one malformed entry or event must not lose the valid messages beside it."""

import copy
import json

import pytest

from channels_app.meta import parser
from channels_app.meta import processing as webhooks
from channels_app.meta.models import WebhookEvent
from conversations.models import TimelineItem
from tests.factories import make_entry_point, make_inbox, make_instagram_account
from tests.meta_payloads import IG_ACCOUNT_ID, load

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(db):
    make_inbox("Instagram", default=True)
    return make_instagram_account(make_entry_point(external_id=IG_ACCOUNT_ID))


def with_bad_entry(bad_entry):
    payload = load("text_message")
    payload["entry"].append(bad_entry)
    return payload


def with_bad_event(change):
    payload = load("text_message")
    event = copy.deepcopy(payload["entry"][0]["messaging"][0])
    event["message"] = {**event["message"], "mid": "mid.malformed.1", **change}
    payload["entry"][0]["messaging"].append(event)
    return payload


def deliver(payload):
    event = WebhookEvent.objects.create(object=payload["object"], body=json.dumps(payload))
    webhooks.process_webhook_event(event.pk)
    event.refresh_from_db()
    return event


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (with_bad_entry({"id": IG_ACCOUNT_ID, "time": 1, "messaging": 5}), "messaging is a int"),
        (with_bad_entry({"id": IG_ACCOUNT_ID, "time": 1, "messaging": True}), "messaging is a bool"),
        (with_bad_entry({"id": IG_ACCOUNT_ID, "time": 1, "messaging": {"sender": {}}}), "messaging is a dict"),
        (with_bad_event({"attachments": 5}), "attachments is not a list"),
    ],
    ids=["messaging-int", "messaging-true", "messaging-object", "attachments-int"],
)
def test_the_valid_message_is_stored_and_the_malformed_part_noted(account, payload, reason):
    event = deliver(payload)

    assert event.status == WebhookEvent.Status.PROCESSED
    assert list(TimelineItem.objects.values_list("text", flat=True)) == ["Hi, where is my order?"]
    assert reason in event.last_error


def test_the_parser_reads_each_event_on_its_own():
    delivery = parser.parse_delivery(with_bad_event({"attachments": 5}))

    (entry,) = delivery.entries
    assert [event.mid for event in entry.events] == [load("text_message")["entry"][0]["messaging"][0]["message"]["mid"]]
    assert [note.reason for note in entry.ignored] == ["attachments is not a list."]
