"""Files from the composer on WhatsApp: Meta's per-type limits said first, uploaded to the Cloud API's media
store and sent by media id; Graph's refusals shown to the agent in plain words."""

import json
from datetime import timedelta

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from channels_app.meta.models import WhatsAppNumber
from conversations import outbound
from conversations.models import OutboundMessage, TimelineItem
from conversations.outbound import SendRefused, drain_entry_point
from tests.factories import make_conversation, make_customer, make_inbox, make_item, make_user, make_whatsapp_number

GRAPH = "https://graph.facebook.com/v23.0"
NUMBER_ID = "106540352242922"
MEDIA_ID = "1037543291543636"
WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"

UPLOADED = {"id": MEDIA_ID}
SENT = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "16505551234", "wa_id": "16505551234"}],
    "messages": [{"id": WAMID}],
}


def graph_error(code, message, status=400, subcode=None, details=""):
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AazIRt5dfw0rPlj3N9Uaw5m"}
    if subcode:
        error["error_subcode"] = subcode
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"json": {"error": error}, "status": status}


@pytest.fixture
def agent(db):
    return make_user(first_name="Ada")


@pytest.fixture
def whatsapp(db, agent):
    number = make_whatsapp_number()
    conversation = make_conversation(
        inbox=make_inbox(members=[agent]),
        entry_point=number.entry_point,
        customer=make_customer(number.entry_point, external_id="16505551234"),
        last_customer_message_at=timezone.now() - timedelta(minutes=5),
    )
    make_item(conversation, text="Can I see the receipt?")
    return conversation


def upload_fields(call) -> bytes:
    return call.request.body if isinstance(call.request.body, bytes) else call.request.body.encode()


@responses.activate
def test_an_image_is_uploaded_then_sent_by_its_media_id(whatsapp, agent):
    responses.post(f"{GRAPH}/{NUMBER_ID}/media", json=UPLOADED)
    responses.post(f"{GRAPH}/{NUMBER_ID}/messages", json=SENT)

    [item] = outbound.send_files(whatsapp, agent, [("receipt.png", PNG)])
    drain_entry_point(whatsapp.entry_point_id)

    upload, send = responses.calls
    assert upload.request.headers["Content-Type"].startswith("multipart/form-data")
    body = upload_fields(upload)
    assert b'name="messaging_product"\r\n\r\nwhatsapp' in body
    assert b'name="type"\r\n\r\nimage/png' in body
    assert b'name="file"; filename="receipt.png"' in body and PNG in body
    assert "access_token=wa-token" in upload.request.url
    sent = json.loads(send.request.body)
    assert sent == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "image",
        "image": {"id": MEDIA_ID},
    }
    item.refresh_from_db()
    assert (item.delivery_status, item.external_id) == ("sent", WAMID)


@responses.activate
def test_a_pdf_goes_as_a_document_with_its_filename_after_the_text(whatsapp, agent):
    responses.post(f"{GRAPH}/{NUMBER_ID}/media", json=UPLOADED)
    responses.post(f"{GRAPH}/{NUMBER_ID}/messages", json=SENT)

    items = outbound.send_files(whatsapp, agent, [("invoice-42.pdf", PDF)], text="Here is your invoice")
    drain_entry_point(whatsapp.entry_point_id)

    text, upload, document = responses.calls
    assert json.loads(text.request.body)["text"]["body"] == "Here is your invoice"
    assert upload.request.url.split("?")[0].endswith("/media")
    assert json.loads(document.request.body)["document"] == {"id": MEDIA_ID, "filename": "invoice-42.pdf"}
    assert [i.text for i in items] == ["Here is your invoice", ""]


def test_the_composer_tells_whatsapps_limits_before_sending(client, agent, whatsapp):
    client.force_login(agent)

    page = client.get(reverse("inbox:conversation", args=[whatsapp.pk])).content.decode()

    assert 'data-testid="attach-input"' in page
    assert "WhatsApp: image up to 5 MB (JPEG or PNG), video up to 16 MB (MP4 or 3GP)" in page
    assert "file up to 100 MB (PDF, Word, Excel or PowerPoint)" in page
    assert 'accept="image/jpeg,image/png,video/mp4,video/3gpp,audio/aac,' in page


def test_a_gif_is_refused_before_anything_is_sent(whatsapp, agent):
    with pytest.raises(SendRefused, match="WhatsApp can't send wave.gif: its images must be JPEG or PNG"):
        outbound.send_files(whatsapp, agent, [("wave.gif", GIF)])

    assert not OutboundMessage.objects.exists()


def test_an_image_over_five_megabytes_is_refused_with_the_limit(whatsapp, agent):
    big = PNG + b"\0" * 5_000_000

    with pytest.raises(SendRefused, match=r"big.png is too large for WhatsApp: images up to 5 MB"):
        outbound.send_files(whatsapp, agent, [("big.png", big)])


def test_files_wait_for_a_template_outside_the_24_hour_window(whatsapp, agent):
    whatsapp.last_customer_message_at = timezone.now() - timedelta(hours=25)
    whatsapp.save(update_fields=["last_customer_message_at"])

    with pytest.raises(SendRefused, match="only approved templates"):
        outbound.send_files(whatsapp, agent, [("receipt.png", PNG)])


def _failed(item) -> TimelineItem:
    item.refresh_from_db()
    return item


@responses.activate
def test_an_expired_token_pauses_the_number_and_the_file_waits(whatsapp, agent):
    responses.post(
        f"{GRAPH}/{NUMBER_ID}/media",
        **graph_error(
            190,
            "Error validating access token: Session has expired on Tuesday, 24-Nov-26 10:00:00 PST.",
            status=401,
            subcode=463,
        ),
    )

    [item] = outbound.send_files(whatsapp, agent, [("receipt.png", PNG)])
    drain_entry_point(whatsapp.entry_point_id)

    number = WhatsAppNumber.objects.get()
    assert number.status == WhatsAppNumber.Status.NEEDS_REAUTHORIZATION
    message = OutboundMessage.objects.get(item=item)
    assert message.status == "queued"
    assert "access token expired or was revoked" in message.last_error
    assert len(responses.calls) == 1  # nothing sent after the refused upload


@responses.activate
def test_a_rate_limited_upload_backs_off_and_keeps_the_file(whatsapp, agent):
    responses.post(
        f"{GRAPH}/{NUMBER_ID}/media",
        **graph_error(130429, "(#130429) Rate limit hit", details="Cloud API message throughput has been reached."),
    )

    [item] = outbound.send_files(whatsapp, agent, [("receipt.png", PNG)])
    drain_entry_point(whatsapp.entry_point_id)

    message = OutboundMessage.objects.get(item=item)
    assert message.status == "queued" and message.next_attempt_at > timezone.now()
    assert message.last_error == "The number's sending rate was reached: waiting before sending more."
    assert _failed(item).delivery_status == "queued"


@responses.activate
def test_an_unsupported_type_fails_with_metas_details_for_the_agent(whatsapp, agent):
    responses.post(
        f"{GRAPH}/{NUMBER_ID}/media",
        **graph_error(
            131053,
            "(#131053) Media upload error",
            details="Param file must be a file with one of the following types: audio/aac, audio/mp4, "
            "audio/mpeg, audio/amr, audio/ogg, text/plain, application/pdf, image/jpeg, image/png, video/mp4.",
        ),
    )

    [item] = outbound.send_files(whatsapp, agent, [("receipt.png", PNG)])
    drain_entry_point(whatsapp.entry_point_id)

    item = _failed(item)
    assert item.delivery_status == "failed"
    assert item.failure_reason.startswith("The file could not be uploaded to WhatsApp (type, size")
    assert "Param file must be a file with one of the following types" in item.failure_reason


@responses.activate
def test_a_failed_send_after_the_upload_reuses_the_media_id_on_retry(whatsapp, agent):
    responses.post(f"{GRAPH}/{NUMBER_ID}/media", json=UPLOADED)
    responses.post(
        f"{GRAPH}/{NUMBER_ID}/messages",
        **graph_error(131026, "(#131026) Message Undeliverable", details="Receiver is incapable of receiving."),
    )

    [item] = outbound.send_files(whatsapp, agent, [("receipt.png", PNG)])
    drain_entry_point(whatsapp.entry_point_id)
    assert _failed(item).delivery_status == "failed"
    assert "the number may not be on WhatsApp" in item.failure_reason

    responses.replace(responses.POST, f"{GRAPH}/{NUMBER_ID}/messages", json=SENT)
    outbound.retry(item, agent)
    drain_entry_point(whatsapp.entry_point_id)

    uploads = [c for c in responses.calls if c.request.url.split("?")[0].endswith("/media")]
    assert len(uploads) == 1
    assert json.loads(responses.calls[-1].request.body)["image"] == {"id": MEDIA_ID}
    assert _failed(item).delivery_status == "sent"
