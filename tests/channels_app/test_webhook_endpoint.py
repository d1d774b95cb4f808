import json
from unittest import mock

from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone

from channels_app.meta.models import WebhookEvent
from tests.meta_payloads import load, post_webhook


def test_verification_answers_the_challenge(client, db):
    response = client.get(
        "/webhooks/meta/",
        {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1158201444"},
    )

    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


def test_verification_with_a_wrong_token_is_refused(client, db):
    response = client.get(
        "/webhooks/meta/", {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
    )

    assert response.status_code == 403


def test_a_signed_delivery_is_stored_without_touching_the_broker(client, db, django_capture_on_commit_callbacks):
    with mock.patch("channels_app.meta.dispatch.current_app.send_task") as send_task:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = post_webhook(client, load("text_message"))

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.RECEIVED
    assert (
        event.handed_over_at is None
    )  # for the workers' drainer to hand over (tests/channels_app/test_webhook_drain.py)
    assert json.loads(event.body) == load("text_message")
    assert not send_task.called
    assert callbacks == []


def test_a_stored_delivery_reads_back_whole(client, db):
    """WebhookEvent.store writes the row in SQL: every field comes back as the model's defaults say."""
    before = timezone.now()

    post_webhook(client, load("text_message"))

    event = WebhookEvent.objects.get()
    assert (event.object, event.status, event.attempts, event.last_error) == ("instagram", "received", 0, "")
    assert (event.processed_at, event.handed_over_at, event.swept_at) == (None, None, None)
    assert before <= event.received_at <= timezone.now()
    assert {field.name for field in WebhookEvent._meta.concrete_fields} == {
        "id",
        "received_at",
        "object",
        "body",
        "status",
        "attempts",
        "last_error",
        "processed_at",
        "handed_over_at",
        "swept_at",
    }, "a new field: give it to WebhookEvent.store (or a db_default)"


def test_the_raw_body_is_stored_byte_for_byte(client, db):
    body = b'{"object":"instagram","entry":[ ]}'

    post_webhook(client, body)

    assert WebhookEvent.objects.get().body == body.decode()


def test_a_wrong_signature_is_refused_and_nothing_stored(client, db):
    response = post_webhook(client, load("text_message"), secret="not-the-app-secret")

    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


def test_a_missing_signature_is_refused(client, db):
    response = client.post("/webhooks/meta/", data=json.dumps(load("text_message")), content_type="application/json")

    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


def test_a_body_that_is_not_json_is_refused_with_400(client, db, caplog):
    response = post_webhook(client, b"{not json")

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert "not JSON" in caplog.text


def test_an_unknown_object_is_refused_with_400(client, db):
    response = post_webhook(client, {"object": "permissions", "entry": []})

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@override_settings(META_WEBHOOK_MAX_BYTES=100)
def test_a_body_over_the_limit_is_refused_with_413(client, db):
    response = post_webhook(client, load("batched"))

    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def test_broker_down_still_answers_200_and_keeps_the_row(client, db):
    with mock.patch(
        "channels_app.meta.dispatch.current_app.send_task", side_effect=ConnectionRefusedError("broker down")
    ) as send_task:
        response = post_webhook(client, load("text_message"))

    assert response.status_code == 200
    assert not send_task.called
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.RECEIVED


def test_database_down_answers_503_so_meta_retries(client, db):
    with mock.patch.object(WebhookEvent, "store", side_effect=OperationalError("connection refused")):
        response = post_webhook(client, load("text_message"))

    assert response.status_code == 503
    assert not WebhookEvent.objects.exists()


def test_the_endpoint_needs_no_csrf_token_or_session(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)

    assert post_webhook(client, load("text_message")).status_code == 200
    assert "sessionid" not in client.cookies


def test_other_methods_are_not_allowed(client, db):
    assert client.put("/webhooks/meta/").status_code == 405


@override_settings(META_WEBHOOK_MAX_BYTES=100)
def test_a_body_over_the_limit_without_a_content_length_is_refused_with_413(rf, db):
    from channels_app.meta.webhook import meta_webhook

    request = rf.post("/webhooks/meta/", data=json.dumps(load("batched")), content_type="application/json")
    del request.META["CONTENT_LENGTH"]  # e.g. a chunked upload

    response = meta_webhook(request)

    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def test_a_malformed_content_length_is_refused_with_400(client, db):
    response = client.post("/webhooks/meta/", data=b"{}", content_type="application/json", CONTENT_LENGTH="twelve")

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
