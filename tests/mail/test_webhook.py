from pathlib import Path

import pytest
from anymail.inbound import AnymailInboundMessage
from anymail.signals import AnymailInboundEvent, EventType
from anymail.signals import inbound as anymail_inbound

from channels_app.mail import inbound
from channels_app.mail.models import InboundEmail

from .helpers import make_email_address

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    ids = []
    monkeypatch.setattr(inbound, "enqueue_processing", ids.append)
    return ids


def post_inbound(raw, envelope_recipient=None):
    message = AnymailInboundMessage.parse_raw_mime_bytes(raw)
    message.envelope_recipient = envelope_recipient
    event = AnymailInboundEvent(event_type=EventType.INBOUND, message=message)
    anymail_inbound.send(sender=object, event=event, esp_name="Postmark")


def test_provider_inbound_mail_is_stored_raw_for_the_address_it_was_sent_to():
    address = make_email_address("support@acme.com")
    raw = (FIXTURES / "gmail_reply.eml").read_bytes()

    post_inbound(raw)

    stored = InboundEmail.objects.get()
    assert stored.via == InboundEmail.Via.WEBHOOK
    assert stored.email_address == address
    assert b"Message-ID: <CAF3xYz1q2w3e4r5t6y7u8i9o0pLkJhGfDsA@mail.gmail.com>" in bytes(stored.raw)


def test_the_envelope_recipient_wins_over_the_to_header(settings):
    settings.MAIL_FORWARDING_DOMAIN = "in.example.com"
    make_email_address("support@acme.com")
    sales = make_email_address("sales@acme.com")

    post_inbound((FIXTURES / "gmail_reply.eml").read_bytes(), envelope_recipient=sales.forwarding_address)

    assert InboundEmail.objects.get().email_address == sales


def test_mail_for_none_of_our_addresses_is_kept_without_an_address():
    post_inbound((FIXTURES / "gmail_reply.eml").read_bytes())

    assert InboundEmail.objects.get().email_address is None
