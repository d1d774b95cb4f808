"""The SMS sender: no reply window, the number's send rate, opt-outs, the Messages API (mocked with responses)."""

from urllib.parse import parse_qs

import pytest
import responses
from django.test import override_settings

from channels_app.models import Channel
from channels_app.telephony.models import SmsOptOut, TwilioAccount
from channels_app.telephony.sender import SmsSender
from conversations import outbound
from conversations.models import OutboundMessage, TimelineItem
from conversations.senders import RateLimit, ReplyWindow, SendRefused, sender_for
from tests.factories import make_conversation, make_customer, make_inbox, make_user

from .factories import ACCOUNT_SID, make_twilio_number

pytestmark = pytest.mark.django_db
API = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"
CUSTOMER = "+14155559876"


@pytest.fixture
def number():
    return make_twilio_number(e164="+14155550100")


@pytest.fixture
def conversation(number):
    entry_point = number.phone_number.entry_point
    customer = make_customer(entry_point, external_id=CUSTOMER)
    return make_conversation(make_inbox(kind=Channel.Kind.SMS), entry_point, customer)


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mock:
        yield mock


def queued_reply(conversation, text="Your order shipped today."):
    item = outbound.send_reply(conversation, make_user(), text)
    return OutboundMessage.objects.get(item=item)


def test_the_sender_serves_phone_number_entry_points(conversation):
    assert isinstance(sender_for(conversation.entry_point), SmsSender)


def test_sms_has_no_reply_window_and_says_which_number_sends(conversation):
    window = SmsSender().reply_window(conversation, None)

    assert window.state == ReplyWindow.OPEN
    assert window.notice == "Replies go out as SMS from +1 415-555-0100."


@override_settings(SMS_SEND_PER_SECOND=3)
def test_the_rate_is_a_setting(conversation):
    assert SmsSender().rate_limit(conversation.entry_point) == RateLimit(3, 1)


def test_the_default_rate_is_twilios_long_code_rate(conversation):
    assert SmsSender().rate_limit(conversation.entry_point) == RateLimit(1, 1)


def test_an_opted_out_customer_is_not_texted(conversation):
    SmsOptOut.objects.create(entry_point=conversation.entry_point, customer_number=CUSTOMER, keyword="STOP")

    with pytest.raises(SendRefused, match="opted out of texts: they replied STOP"):
        outbound.send_reply(conversation, make_user(), "Hello?")


def test_a_reply_goes_through_the_messages_api_with_a_status_callback(conversation, mocked):
    mocked.post(f"{API}/Messages.json", json={"sid": "SM" + "a" * 32, "status": "queued"}, status=201)
    message = queued_reply(conversation)

    sid = SmsSender().send(message, ReplyWindow(ReplyWindow.OPEN))

    assert sid == "SM" + "a" * 32
    sent = {key: values[0] for key, values in parse_qs(mocked.calls[0].request.body).items()}
    assert sent["From"] == "+14155550100"
    assert sent["To"] == CUSTOMER
    assert sent["Body"] == "Your order shipped today."
    assert sent["StatusCallback"] == "http://testserver/webhooks/twilio/status/"


def test_the_drainer_sends_and_records_the_sid(conversation, mocked):
    mocked.post(f"{API}/Messages.json", json={"sid": "SM" + "b" * 32, "status": "queued"}, status=201)
    message = queued_reply(conversation)

    outbound.drain_entry_point(conversation.entry_point_id)

    message.item.refresh_from_db()
    assert message.item.delivery_status == TimelineItem.Delivery.SENT
    assert message.item.external_id == "SM" + "b" * 32


def error(status, code, text="Twilio says no"):
    return {"code": code, "message": text, "status": status, "more_info": ""}


@pytest.mark.parametrize(
    ("status", "code", "outcome", "reason"),
    [
        (503, 20500, "transient", "Twilio is having trouble"),
        (429, 20429, "rate_limited", "Too many requests"),
        (400, 21610, "refused", "unsubscribed (replied STOP)"),
        (400, 21211, "refused", "not a valid phone number"),
    ],
)
def test_twilio_errors_tell_the_drainer_what_to_do(conversation, mocked, status, code, outcome, reason):
    mocked.post(f"{API}/Messages.json", json=error(status, code), status=status)
    message = queued_reply(conversation)

    with pytest.raises(Exception) as raised:
        SmsSender().send(message, ReplyWindow(ReplyWindow.OPEN))

    assert raised.value.outcome == outcome
    assert reason in raised.value.reason


def test_refused_credentials_pause_the_number_and_mark_the_account(conversation, mocked, number):
    mocked.post(f"{API}/Messages.json", json=error(401, 20003, "Authenticate"), status=401)
    message = queued_reply(conversation)

    outbound.drain_entry_point(conversation.entry_point_id)

    message.refresh_from_db()
    number.account.refresh_from_db()
    assert message.status == OutboundMessage.Status.QUEUED  # waits, not dropped
    assert number.account.status == TwilioAccount.Status.NEEDS_CREDENTIALS
    assert "credentials" in SmsSender().paused_reason(conversation.entry_point)


def test_a_voice_conversation_replies_by_sms_from_the_same_number(mocked):
    number = make_twilio_number(e164="+14155550111", channel_kind=Channel.Kind.VOICE)
    entry_point = number.phone_number.entry_point
    conversation = make_conversation(
        make_inbox(kind=Channel.Kind.VOICE), entry_point, make_customer(entry_point, external_id=CUSTOMER)
    )

    assert SmsSender().reply_window(conversation, None).notice == "Replies go out as SMS from +1 415-555-0111."


def test_a_number_that_cannot_text_closes_the_window(conversation, number):
    number.sms = False
    number.save()

    window = SmsSender().reply_window(conversation, None)

    assert window.state == ReplyWindow.CLOSED
    assert "cannot send text messages" in window.reason


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_a_number_without_mms_sends_no_files_and_says_so(conversation, number):
    number.mms = False
    number.save()

    with pytest.raises(SendRefused, match="Sending files is not supported on SMS yet"):
        outbound.send_files(conversation, make_user(), [("photo.png", PNG)], "Here it is")


def test_a_picture_goes_as_mms_with_the_text_and_a_signed_link(conversation, number, mocked, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    number.mms = True
    number.save()
    mocked.post(f"{API}/Messages.json", json={"sid": "SM" + "c" * 32, "status": "queued"}, status=201)

    [item] = outbound.send_files(conversation, make_user(), [("photo.png", PNG)], "Here it is")
    SmsSender().send(OutboundMessage.objects.get(item=item), ReplyWindow(ReplyWindow.OPEN))

    sent = parse_qs(mocked.calls[0].request.body)
    assert sent["Body"] == ["Here it is"]
    [media_url] = sent["MediaUrl"]
    assert media_url.startswith("http://testserver/")
    # The link Twilio fetches serves exactly the picture, without signing in.
    from django.test import Client

    response = Client().get(media_url.removeprefix("http://testserver"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG


def test_mms_takes_pictures_only(conversation, number):
    number.mms = True
    number.save()

    with pytest.raises(SendRefused, match="SMS can't send notes.pdf"):
        outbound.send_files(conversation, make_user(), [("notes.pdf", b"%PDF-1.4 fake")], "")
