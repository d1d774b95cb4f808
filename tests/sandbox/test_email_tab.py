"""The customer simulator's Email tab: real mail through the receiver, the app's outbox, replies in thread."""

import socket

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from channels_app.mail import inbound, parser
from channels_app.mail.models import InboundEmail
from channels_app.mail.outgoing import build_reply, remember_sent
from channels_app.mail.receiver import make_controller
from conversations.models import Conversation
from sandbox import views
from tests.factories import make_admin, make_conversation
from tests.mail.helpers import make_email_address


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def outbox(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    return tmp_path / "outbox"


@pytest.fixture
def receiver(transactional_db, settings, monkeypatch):
    monkeypatch.setattr(inbound, "enqueue_processing", lambda inbound_email_id: True)
    settings.MAIL_RECEIVER_HOST, settings.MAIL_RECEIVER_PORT = "127.0.0.1", free_port()
    controller = make_controller()
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def simulator(client, transactional_db):
    client.force_login(make_admin())
    return client


def process_all():
    for stored in InboundEmail.objects.filter(status=InboundEmail.Status.RECEIVED):
        inbound.process_inbound_email(stored.pk)


def test_the_tab_shows_the_form_for_the_app_s_addresses(simulator, outbox):
    make_email_address("support@acme.test")

    page = simulator.get(reverse("sandbox:customer_email")).content.decode()

    assert '<option value="support@acme.test">' in page
    assert "Nothing sent yet." in page


def test_the_customer_s_email_goes_through_the_receiver_with_its_attachment(receiver, simulator, outbox):
    make_email_address("support@acme.test")

    response = simulator.post(
        reverse("sandbox:customer_email"),
        {
            "to": "support@acme.test",
            "from_name": "Sam Okafor",
            "from_address": "sam@example.com",
            "subject": "Broken zip",
            "text": "The zip broke on day one.",
            "attachment": SimpleUploadedFile("zip.txt", b"photo of the zip", content_type="text/plain"),
        },
    )

    assert response.status_code == 302
    parsed = parser.parse(bytes(InboundEmail.objects.get().raw))
    assert (parsed.from_address, parsed.subject, parsed.text.strip()) == (
        "sam@example.com",
        "Broken zip",
        "The zip broke on day one.",
    )
    assert [attachment.filename for attachment in parsed.attachments] == ["zip.txt"]


def test_with_the_receiver_down_the_tab_says_so(simulator, outbox, settings):
    settings.MAIL_RECEIVER_HOST, settings.MAIL_RECEIVER_PORT = "127.0.0.1", free_port()
    make_email_address("support@acme.test")
    form = {"to": "support@acme.test", "from_address": "sam@example.com", "subject": "Hi", "text": "Hello"}

    response = simulator.post(reverse("sandbox:customer_email"), form, follow=True)

    assert "mail receiver is not running on 127.0.0.1:" in response.content.decode()


def send_our_reply(address, conversation, text="It ships today."):
    email = build_reply(
        address, "sam@example.com", "Broken zip", text, agent_name="Ben", conversation_id=conversation.pk
    )
    email.send()
    remember_sent(email, address, conversation.pk)
    return email


def test_the_outbox_lists_what_the_app_sent(simulator, outbox):
    address = make_email_address("support@acme.test")
    conversation = make_conversation(entry_point=address.entry_point)
    email = send_our_reply(address, conversation)

    [sent] = views.outbox_messages()

    assert sent["to"] == "sam@example.com"
    assert sent["subject"] == "Broken zip"
    assert sent["text"].startswith("It ships today.")
    assert sent["message_id"] == email.extra_headers["Message-ID"]
    assert "It ships today." in simulator.get(reverse("sandbox:customer_email")).content.decode()


def test_replying_from_the_outbox_lands_in_the_same_conversation(receiver, simulator, outbox):
    address = make_email_address("support@acme.test")
    simulator.post(
        reverse("sandbox:customer_email"),
        {"to": "support@acme.test", "from_address": "sam@example.com", "subject": "Broken zip", "text": "Help"},
    )
    process_all()
    conversation = Conversation.objects.get()
    email = send_our_reply(address, conversation)
    [sent] = views.outbox_messages()

    simulator.post(reverse("sandbox:customer_email_reply"), {"message": sent["id"], "text": "Thanks, and the box?"})

    reply = InboundEmail.objects.filter(status=InboundEmail.Status.RECEIVED).get()
    parsed = parser.parse(bytes(reply.raw))
    assert parsed.in_reply_to == email.extra_headers["Message-ID"]
    assert parsed.subject == "Re: Broken zip"
    process_all()
    assert Conversation.objects.get().items.filter(text="Thanks, and the box?").exists()
