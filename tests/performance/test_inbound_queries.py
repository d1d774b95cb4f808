"""Inbound processing cost, locked in: queries per customer message with 3 rules and Business Hours.

Counted around the worker's whole job for one stored delivery (`process_webhook_event`):
reading the event, finding the Entry Point, storing the message, routing, the SLA clock,
the Rules and the Business Hours auto-reply check, and marking the event processed.
"""

import copy
import datetime
import json

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.meta import processing
from channels_app.meta.models import WebhookEvent
from channels_app.models import Channel
from conversations import configuration
from conversations.models import Rule, TimelineItem
from tests.conversations.helpers import make_business_hours
from tests.factories import make_available, make_entry_point, make_inbox, make_instagram_account, make_user
from tests.meta_payloads import CUSTOMER_IGSID, IG_ACCOUNT_ID, load

# A real transaction per job, as in a worker: BEGIN and COMMIT are not counted, the
# savepoints a test transaction would add are not there; Rules and schedules cached.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("cached_configuration")]


@pytest.fixture
def cached_configuration(settings):
    settings.RULES_CACHE_SECONDS = 60
    configuration.forget()
    yield
    configuration.forget()


MONDAY_NOON = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def configured():
    """A routed inbox with an available agent, Business Hours with an auto-reply, and three rules."""
    # A transactional test starts from an empty database: the Channels the data migration made are gone.
    for kind in Channel.Kind.values:
        Channel.objects.get_or_create(kind=kind)
    messaging = Channel.objects.get(kind=Channel.Kind.MESSAGING)
    agent = make_user()
    inbox = make_inbox(default=True, members=[agent])
    make_available(agent)
    inbox.business_hours = make_business_hours(auto_reply_text="We are closed now.")
    inbox.save()
    account = make_instagram_account(make_entry_point(external_id=IG_ACCOUNT_ID))
    Rule.objects.create(name="refunds", channel=messaging, words="refund, money back", note_text="Refund question")
    Rule.objects.create(name="vip", entry_point=account.entry_point, words="vip", note_text="VIP")
    Rule.objects.create(name="weekend", channel=messaging, hours=Rule.Hours.OUTSIDE, note_text="Outside hours")
    # As in a worker that has handled a message before: Rules and schedules are in its memory.
    configuration.active_rules()
    return account


def message(n, customer=CUSTOMER_IGSID):
    payload = copy.deepcopy(load("text_message"))
    event = payload["entry"][0]["messaging"][0]
    event["sender"]["id"] = customer
    event["message"]["mid"] = f"mid.perf.{customer}.{n}"
    event["message"]["text"] = f"Hello, message {n}"
    event["timestamp"] = int(MONDAY_NOON.timestamp() * 1000) + n
    return WebhookEvent.objects.create(object="instagram", body=json.dumps(payload))


def queries_to_process(event) -> int:
    """Statements sent to the database, not counting BEGIN and COMMIT (SQLite logs them, PostgreSQL does not)."""
    with CaptureQueriesContext(connection) as captured:
        assert processing.process_webhook_event(event.pk) == WebhookEvent.Status.PROCESSED
    return sum(1 for query in captured if query["sql"].split()[0].upper() not in ("BEGIN", "COMMIT"))


@time_machine.travel(MONDAY_NOON, tick=False)
def test_a_new_customers_first_message(configured):
    count = queries_to_process(message(1))

    assert TimelineItem.objects.filter(kind=TimelineItem.Kind.CUSTOMER_MESSAGE).count() == 1
    assert count <= 12, count


@time_machine.travel(MONDAY_NOON, tick=False)
def test_a_follow_up_message(configured):
    processing.process_webhook_event(message(1).pk)

    count = queries_to_process(message(2))

    assert TimelineItem.objects.filter(kind=TimelineItem.Kind.CUSTOMER_MESSAGE).count() == 2
    assert count <= 5, count


@time_machine.travel(MONDAY_NOON, tick=False)
def test_a_redelivered_batch_of_four_messages(configured):
    """Meta delivers a batch again (it saw no answer in time): four look-ups, not a failed insert each."""
    batch = json.loads(message(1).body)
    for n in range(2, 5):
        batch["entry"][0]["messaging"] += json.loads(message(n).body)["entry"][0]["messaging"]
    processing.process_webhook_event(WebhookEvent.objects.create(object="instagram", body=json.dumps(batch)).pk)
    again = WebhookEvent.objects.create(object="instagram", body=json.dumps(batch))

    count = queries_to_process(again)

    assert TimelineItem.objects.filter(kind=TimelineItem.Kind.CUSTOMER_MESSAGE).count() == 4
    assert count <= 14, count
