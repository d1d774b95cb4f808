"""Arbitrary and mutated payloads: never a 500, never an exception out of the task."""

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_app.meta import parser
from channels_app.meta import processing as webhooks
from channels_app.meta.models import WebhookEvent
from tests.factories import (
    make_entry_point,
    make_inbox,
    make_instagram_account,
    make_messenger_page,
    make_whatsapp_number,
)
from tests.meta_payloads import FIXTURES, IG_ACCOUNT_ID, load, post_webhook

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
FIXTURE_NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def mutate(value, data):
    """Replace, drop or retype one node somewhere in a real payload."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        action = data.draw(st.sampled_from(["drop", "replace", "recurse"]))
        if action == "drop":
            return {k: v for k, v in value.items() if k != key}
        if action == "replace":
            return {**value, key: data.draw(json_values)}
        return {**value, key: mutate(value[key], data)}
    if isinstance(value, list) and value:
        index = data.draw(st.integers(0, len(value) - 1))
        return [mutate(v, data) if i == index else v for i, v in enumerate(value)]
    return data.draw(json_values) if data.draw(st.booleans()) else value


@given(payload=json_values)
@settings(max_examples=200, deadline=None)
def test_the_parser_never_raises_on_arbitrary_json_except_payload_error(payload):
    with contextlib.suppress(parser.PayloadError):
        parser.parse_delivery(payload)


@given(data=st.data())
@settings(max_examples=200, deadline=None)
def test_the_parser_survives_mutated_real_payloads(data):
    payload = mutate(load(data.draw(st.sampled_from(FIXTURE_NAMES))), data)
    with contextlib.suppress(parser.PayloadError):
        parser.parse_delivery(payload)


@given(data=st.data())
@SLOW
def test_signed_mutated_payloads_never_get_a_500_and_every_event_ends_with_a_reason(client, db, data):
    if not make_instagram_account.__dict__.get("done"):
        make_inbox("Instagram", default=True)
        make_instagram_account(make_entry_point(external_id=IG_ACCOUNT_ID))
        make_instagram_account.__dict__["done"] = True
    payload = mutate(load(data.draw(st.sampled_from(FIXTURE_NAMES))), data)

    response = post_webhook(client, json.dumps(payload).encode())

    assert response.status_code in (200, 400)
    for event in WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED):
        status = webhooks.process_webhook_event(event.pk)  # must not raise
        event.refresh_from_db()
        assert status in ("processed", "ignored", "failed")
        if status != "processed":
            assert event.last_error, "a rejected or ignored event says why"


# --- Messenger (`object: page`) and WhatsApp (`object: whatsapp_business_account`) ---------------

PRODUCT_FIXTURES = sorted(
    f"{folder}/{path.stem}" for folder in ("messenger", "whatsapp") for path in (FIXTURES / folder).glob("*.json")
)


@given(data=st.data())
@SLOW
def test_signed_mutated_messenger_and_whatsapp_payloads_never_get_a_500_and_end_with_a_reason(client, db, data):
    if not make_messenger_page.__dict__.get("done"):
        make_inbox("Messaging", default=True)
        make_messenger_page(page_id="100000000000001")
        make_whatsapp_number()
        make_messenger_page.__dict__["done"] = True
    payload = mutate(load(data.draw(st.sampled_from(PRODUCT_FIXTURES))), data)

    response = post_webhook(client, json.dumps(payload).encode())

    assert response.status_code in (200, 400)
    for event in WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED):
        status = webhooks.process_webhook_event(event.pk)  # must not raise
        event.refresh_from_db()
        assert status in ("processed", "ignored", "failed")
        if status != "processed":
            assert event.last_error, "a rejected or ignored event says why"
