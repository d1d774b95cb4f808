"""MMS media: the core keeps the URL; our task fetches it with the account's credentials and stores it."""

import base64
from unittest import mock

import pytest
import responses

from channels_app.telephony import sms
from channels_app.telephony.models import TwilioWebhookEvent
from channels_app.telephony.tasks import fetch_mms_media, process_event
from conversations.models import Attachment

from .factories import ACCOUNT_SID, AUTH_TOKEN, make_twilio_number
from .webhooks import sms_params

pytestmark = pytest.mark.django_db
MEDIA_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME1"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def receive_mms():
    make_twilio_number(e164="+14155550100")
    event = TwilioWebhookEvent.objects.create(
        kind=TwilioWebhookEvent.Kind.SMS,
        url="http://testserver/webhooks/twilio/sms/",
        params=sms_params(body="", NumMedia="1", MediaUrl0=MEDIA_URL, MediaContentType0="image/png"),
        message_sid="SM0123456789abcdef0123456789abcdef",
    )
    with mock.patch("channels_app.telephony.sms.current_app.send_task") as send_task:
        with mock.patch("django.db.transaction.on_commit", lambda fn: fn()):
            assert process_event(event.pk) == "processed"
    return Attachment.objects.get(), send_task


def test_an_mms_enqueues_our_download_task_by_name():
    attachment, send_task = receive_mms()

    assert attachment.original_url == MEDIA_URL
    assert attachment.status == Attachment.Status.PENDING
    send_task.assert_called_once_with(sms.FETCH_MEDIA_TASK, args=[attachment.pk, ACCOUNT_SID])


@responses.activate
def test_the_task_fetches_with_the_accounts_credentials_and_stores_the_bytes():
    attachment, _ = receive_mms()
    responses.get(MEDIA_URL, body=PNG, content_type="image/png")

    assert fetch_mms_media.apply(args=[attachment.pk, ACCOUNT_SID]).get() == "stored"

    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.STORED
    assert attachment.content_type == "image/png"
    auth = responses.calls[0].request.headers["Authorization"].split()[1]
    assert base64.b64decode(auth).decode() == f"{ACCOUNT_SID}:{AUTH_TOKEN}"


@responses.activate
def test_media_twilio_no_longer_has_is_marked_failed_with_the_reason():
    attachment, _ = receive_mms()
    responses.get(MEDIA_URL, status=404)

    assert fetch_mms_media.apply(args=[attachment.pk, ACCOUNT_SID]).get() == "failed"

    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.FAILED
    assert "HTTP 404" in attachment.error
