"""Arbitrary and mutated WhatsApp / Messenger payloads: parsed or refused with a reason, never a crash."""

import json
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels_app.meta.messenger_parser import parse_messenger_delivery
from channels_app.meta.parser import Delivery, IgnoredEvent, PayloadError
from channels_app.meta.whatsapp_parser import parse_whatsapp_delivery
from tests.meta.helpers import MESSENGER, WHATSAPP

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["text", "image", "contacts", "interactive", "reaction", "messages", "1749416383", "page"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
PARSERS = {
    "whatsapp": (WHATSAPP, parse_whatsapp_delivery),
    "messenger": (MESSENGER, lambda payload: parse_messenger_delivery(payload, app_id="1517776481860111")),
}
FIXTURES = [(channel, path.name) for channel, (folder, _) in PARSERS.items() for path in sorted(folder.glob("*.json"))]


def mutate(value, data):
    """Replace, drop or retype one node somewhere in a real payload (maybe several times)."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        action = data.draw(st.sampled_from(["drop", "replace", "recurse", "recurse"]))
        if action == "drop":
            return {k: v for k, v in value.items() if k != key}
        if action == "replace":
            return {**value, key: data.draw(json_values)}
        return {**value, key: mutate(value[key], data)}
    if isinstance(value, list) and value:
        index = data.draw(st.integers(0, len(value) - 1))
        return [mutate(v, data) if i == index else v for i, v in enumerate(value)]
    return data.draw(json_values) if data.draw(st.booleans()) else value


def assert_every_part_is_accounted_for(payload, delivery):
    assert isinstance(delivery, Delivery)
    assert delivery.entries or payload.get("entry") == [], "only an empty entry list yields no entry"
    for entry in delivery.entries:
        assert entry.events or entry.ignored, "an entry never vanishes without a reason"
        for ignored in entry.ignored:
            assert isinstance(ignored, IgnoredEvent)
            assert ignored.kind and ignored.reason
        for event in entry.events:
            hash((type(event).__name__, getattr(event, "message_id", ""), getattr(event, "mid", "")))
            occurred_at = getattr(event, "occurred_at", None)
            if occurred_at is not None:
                assert isinstance(occurred_at, datetime) and occurred_at.tzinfo is not None


@pytest.mark.parametrize("channel", sorted(PARSERS))
@given(payload=json_values)
@settings(max_examples=150, deadline=None)
def test_arbitrary_json_is_parsed_or_refused_only_with_payload_error(channel, payload):
    parse = PARSERS[channel][1]
    if not isinstance(payload, dict):
        with pytest.raises(PayloadError):
            parse(payload)
        return

    assert_every_part_is_accounted_for(payload, parse(payload))


@given(data=st.data())
@settings(max_examples=400, deadline=None)
def test_mutated_real_payloads_never_raise_and_every_ignored_part_says_why(data):
    channel, name = data.draw(st.sampled_from(FIXTURES))
    folder, parse = PARSERS[channel]
    payload = json.loads((folder / name).read_text())
    for _ in range(data.draw(st.integers(1, 3))):
        payload = mutate(payload, data)

    if not isinstance(payload, dict):
        with pytest.raises(PayloadError):
            parse(payload)
        return
    assert_every_part_is_accounted_for(payload, parse(payload))


@pytest.mark.parametrize(("channel", "name"), FIXTURES)
def test_every_stored_fixture_parses_without_ignoring_anything(channel, name):
    folder, parse = PARSERS[channel]

    delivery = parse(json.loads((folder / name).read_text()))

    assert [ignored.reason for entry in delivery.entries for ignored in entry.ignored] == []
    assert all(entry.events for entry in delivery.entries)
