"""Finding 8: deeply nested JSON must be refused before json.loads and before storing."""

import json

from django.test import override_settings

from channels_app.meta.models import WebhookEvent
from tests.meta_payloads import load, post_webhook


def nested(depth):
    """A Meta-shaped delivery whose entry list holds arrays `depth` deep in all."""
    inner = "[" * (depth - 2) + "]" * (depth - 2)
    return f'{{"object": "instagram", "entry": [{inner}]}}'.encode()


def test_a_hundred_thousand_open_brackets_are_refused_with_400(client, db):
    response = post_webhook(client, b"[" * 100_000)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_valid_body_nested_950_deep_is_refused_and_not_stored(client, db):
    body = nested(950)
    assert json.loads(body)  # valid JSON, within Python's recursion limit

    response = post_webhook(client, body)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@override_settings(META_WEBHOOK_MAX_DEPTH=10)
def test_the_limit_is_a_setting_and_a_body_at_the_limit_is_stored(client, db):
    assert post_webhook(client, nested(10)).status_code == 200
    assert post_webhook(client, nested(11)).status_code == 400
    assert WebhookEvent.objects.count() == 1


@override_settings(META_WEBHOOK_MAX_DEPTH=10)
def test_brackets_inside_strings_do_not_count(client, db):
    payload = load("text_message")
    payload["entry"][0]["messaging"][0]["message"]["text"] = 'Size [[[[[[[[[[[[[[[[{{{{{{ "quoted" \\'

    response = post_webhook(client, payload)

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1
