"""Files from the composer: each channel's limits, the core's queue, signed public links, email attachments."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Channel, EntryPoint
from conversations import outbound
from conversations.attachments import public_url
from conversations.models import Attachment, OutboundMessage
from tests import factories
from tests.mail.helpers import make_email_address

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture
def agent():
    return factories.make_user(first_name="Ada")


@pytest.fixture
def instagram_conversation(agent):
    entry_point = factories.make_entry_point()
    factories.make_instagram_account(entry_point)
    inbox = factories.make_inbox(members=[agent])
    conversation = factories.make_conversation(
        inbox=inbox, entry_point=entry_point, last_customer_message_at=timezone.now()
    )
    factories.make_item(conversation, text="Can you show me the red ones?")
    return conversation


@pytest.fixture
def email_conversation(agent, settings):
    settings.MAIL_MESSAGE_ID_DOMAIN = "support.example.com"
    address = make_email_address()
    inbox = factories.make_inbox(kind=Channel.Kind.EMAIL, members=[agent])
    customer = factories.make_customer(address.entry_point, external_id="jane@example.com")
    conversation = factories.make_conversation(inbox=inbox, entry_point=address.entry_point, customer=customer)
    factories.make_item(conversation, text="Invoice please", external_id="<m1@example.com>")
    return conversation


def test_instagram_sends_each_file_as_its_own_message_at_a_signed_link(agent, instagram_conversation):
    items = outbound.send_files(instagram_conversation, agent, [("red.png", PNG)], text="Here they are")

    assert [item.text for item in items] == ["Here they are", ""]
    message = OutboundMessage.objects.get(item=items[1])
    attachment = items[1].attachments.get()
    assert message.kind == "attachment"
    assert message.payload == {"attachment_type": "image", "attachment_id": attachment.pk}
    assert attachment.status == Attachment.Status.STORED and attachment.content_type == "image/png"


def test_the_instagram_sender_gives_meta_the_signed_link(agent, instagram_conversation, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "channels_app.meta.send.send_message", lambda token, page, recipient, body, tag="": sent.append(body) or "mid.1"
    )
    outbound.send_files(instagram_conversation, agent, [("red.png", PNG)])

    outbound.drain_entry_point(instagram_conversation.entry_point_id)

    (body,) = sent
    assert body["attachment"]["type"] == "image"
    assert "/files/" in body["attachment"]["payload"]["url"]


def test_instagram_refuses_a_pdf_before_sending(agent, instagram_conversation):
    with pytest.raises(outbound.SendRefused, match="can't send invoice.pdf"):
        outbound.send_files(instagram_conversation, agent, [("invoice.pdf", PDF)])
    assert not OutboundMessage.objects.exists()


def test_too_large_a_file_is_refused(agent, instagram_conversation):
    big = PNG + b"\x00" * 8_000_000

    with pytest.raises(outbound.SendRefused, match="too large for Instagram"):
        outbound.send_files(instagram_conversation, agent, [("big.png", big)])


def test_a_channel_without_file_sending_says_so(agent):
    entry_point = factories.make_entry_point(kind=EntryPoint.Kind.CHAT_WIDGET, channel_kind=Channel.Kind.CHAT)
    conversation = factories.make_conversation(
        inbox=factories.make_inbox(kind=Channel.Kind.CHAT), entry_point=entry_point
    )

    with pytest.raises(outbound.SendRefused):
        outbound.send_files(conversation, agent, [("red.png", PNG)])


def test_email_sends_text_and_files_in_one_message(agent, email_conversation, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    (item,) = outbound.send_files(email_conversation, agent, [("invoice.pdf", PDF), ("logo.png", PNG)], text="Attached")

    outbound.drain_entry_point(email_conversation.entry_point_id)

    (sent,) = mail.outbox
    assert sent.body.startswith("Attached")
    assert [(name, content) for name, content, _ in sent.attachments] == [("invoice.pdf", PDF), ("logo.png", PNG)]
    item.refresh_from_db()
    assert item.delivery_status == "sent"


def test_public_link_serves_an_agents_file_until_it_expires(client, agent, instagram_conversation):
    items = outbound.send_files(instagram_conversation, agent, [("red.png", PNG)])
    url = public_url(items[0].attachments.get())

    response = client.get(url.split("127.0.0.1:8000", 1)[-1])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png" and b"".join(response.streaming_content) == PNG

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert client.get(url.split("127.0.0.1:8000", 1)[-1]).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_under_asgi_a_file_streams_in_blocks_without_being_read_whole(agent, instagram_conversation, recwarn):
    """Django reads a synchronous file iterator whole into memory under ASGI (and warns); ours is read a
    block at a time in a thread, so a 100 MB WhatsApp document does not sit in the web process's memory."""
    import asyncio

    from django.test import AsyncClient

    big = PNG + b"\0" * (3 * 8192)  # several blocks
    items = outbound.send_files(instagram_conversation, agent, [("big.png", big)])
    url = public_url(items[0].attachments.get()).split("127.0.0.1:8000", 1)[-1]

    async def fetch():
        response = await AsyncClient().get(url)
        assert response.is_async
        return response, [block async for block in response.streaming_content]

    response, blocks = asyncio.run(fetch())

    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(blocks) == big and len(blocks) >= 3
    assert not [w for w in recwarn if "synchronous iterators" in str(w.message)]


def test_public_links_never_serve_customers_files_or_forged_tokens(client, instagram_conversation):
    customer_file = Attachment.objects.create(item=instagram_conversation.items.get(), kind="image")
    customer_file.file.save("x.png", ContentFile(PNG))
    customer_file.status = Attachment.Status.STORED
    customer_file.save()

    assert client.get(public_url(customer_file).split("127.0.0.1:8000", 1)[-1]).status_code == 404
    assert client.get(reverse("public_file", args=["1:forged:sig"])).status_code == 404


def test_composer_upload_queues_the_file(client, agent, instagram_conversation):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(agent)
    response = client.post(
        reverse("inbox:reply", args=[instagram_conversation.pk]),
        {"text": "", "files": [SimpleUploadedFile("red.png", PNG, content_type="image/png")]},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert OutboundMessage.objects.get().payload["attachment_type"] == "image"


def test_composer_says_the_channels_limits(client, agent, instagram_conversation):
    client.force_login(agent)

    page = client.get(reverse("inbox:conversation", args=[instagram_conversation.pk])).content.decode()

    assert "Instagram: image up to 8 MB, video up to 25 MB, audio up to 25 MB; one file a message." in page
    assert 'accept="image/*,video/*,audio/*"' in page
