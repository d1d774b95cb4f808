from pathlib import Path

import pytest
import time_machine

from channels_app.mail import inbound, parser, tasks
from channels_app.mail.models import InboundEmail, SentEmail

from .helpers import make_email_address

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    ids = []
    monkeypatch.setattr(inbound, "enqueue_processing", ids.append)
    return ids


def store(name, email_address):
    return inbound.store_inbound_email((FIXTURES / name).read_bytes(), InboundEmail.Via.SMTP, email_address)


def test_storing_enqueues_processing_on_commit(django_capture_on_commit_callbacks, enqueued):
    with django_capture_on_commit_callbacks(execute=True):
        stored = store("gmail_reply.eml", make_email_address())

    assert enqueued == [stored.pk]


def test_processing_parses_and_records_the_message_id():
    stored = store("gmail_reply.eml", make_email_address())

    assert tasks.process_inbound_email(stored.pk) == "processed"

    stored.refresh_from_db()
    assert stored.status == InboundEmail.Status.PROCESSED
    assert stored.message_id == "<CAF3xYz1q2w3e4r5t6y7u8i9o0pLkJhGfDsA@mail.gmail.com>"
    assert stored.attempts == 1


def test_processing_twice_changes_nothing():
    stored = store("gmail_reply.eml", make_email_address())
    tasks.process_inbound_email(stored.pk)

    assert tasks.process_inbound_email(stored.pk) == "processed"

    stored.refresh_from_db()
    assert stored.attempts == 1


def test_our_own_mail_coming_back_is_ignored(settings):
    settings.MAIL_MESSAGE_ID_DOMAIN = "support.example.com"
    raw = b"Message-ID: <1.2@support.example.com>\nFrom: support@acme.com\n\nloop"
    stored = inbound.store_inbound_email(raw, InboundEmail.Via.SMTP, make_email_address())

    assert tasks.process_inbound_email(stored.pk) == "ignored"


def test_malformed_mail_is_processed_with_its_problems_noted():
    stored = store("malformed_mime.eml", make_email_address())

    assert tasks.process_inbound_email(stored.pk) == "processed"

    stored.refresh_from_db()
    assert "CloseBoundaryNotFound" in stored.last_error


def test_find_email_address_by_address_or_forwarding_token(settings):
    settings.MAIL_FORWARDING_DOMAIN = "in.example.com"
    address = make_email_address("help@acme.com")

    assert inbound.find_email_address("<HELP@acme.com>") == address
    assert inbound.find_email_address(f"{address.forwarding_token}@in.example.com") == address
    assert inbound.find_email_address("other@acme.com") is None
    assert inbound.find_email_address(f"{address.forwarding_token}@elsewhere.com") is None


def test_a_reply_threads_to_the_conversation_of_the_message_it_answers():
    address = make_email_address()
    SentEmail.objects.create(
        message_id="<20261124.090.def@support.example.com>", entry_point=address.entry_point, conversation_id=42
    )
    parsed = parser.parse((FIXTURES / "gmail_reply.eml").read_bytes())

    assert inbound.find_conversation_id(address, parsed) == 42


def test_a_bounce_threads_to_the_conversation_of_the_message_that_bounced():
    address = make_email_address()
    SentEmail.objects.create(
        message_id="<173260876300.4242.1234567890@support.example.com>",
        entry_point=address.entry_point,
        conversation_id=7,
    )
    parsed = parser.parse((FIXTURES / "dsn_bounce.eml").read_bytes())

    assert inbound.find_conversation_id(address, parsed) == 7


def test_replies_to_another_entry_points_mail_do_not_thread():
    address, other = make_email_address(), make_email_address("sales@acme.com")
    SentEmail.objects.create(
        message_id="<20261124.090.def@support.example.com>", entry_point=other.entry_point, conversation_id=42
    )
    parsed = parser.parse((FIXTURES / "gmail_reply.eml").read_bytes())

    assert inbound.find_conversation_id(address, parsed) is None


def test_mail_for_none_of_our_addresses_is_ignored():
    stored = store("gmail_reply.eml", None)

    assert tasks.process_inbound_email(stored.pk) == "ignored"


def test_sweeper_enqueues_mail_left_received_for_over_a_minute(enqueued):
    address = make_email_address()
    with time_machine.travel("2026-11-26 10:00:00Z", tick=False):
        stale = store("gmail_reply.eml", address)
    with time_machine.travel("2026-11-26 10:00:50Z", tick=False):
        fresh = store("gmail_reply.eml", address)
    enqueued.clear()

    with time_machine.travel("2026-11-26 10:01:30Z", tick=False):
        swept = inbound.sweep_unprocessed()

    assert swept == 1
    assert enqueued == [stale.pk]
    assert fresh.pk not in enqueued


def test_sweeper_waits_before_sweeping_the_same_mail_again(enqueued):
    with time_machine.travel("2026-11-26 10:00:00Z", tick=False):
        store("gmail_reply.eml", make_email_address())
    with time_machine.travel("2026-11-26 10:02:00Z", tick=False):
        inbound.sweep_unprocessed()

    with time_machine.travel("2026-11-26 10:03:00Z", tick=False):
        assert inbound.sweep_unprocessed() == 0
    with time_machine.travel("2026-11-26 10:08:00Z", tick=False):
        assert inbound.sweep_unprocessed() == 1


def test_retry_sends_failed_mail_through_processing_again(enqueued):
    stored = store("gmail_reply.eml", make_email_address())
    InboundEmail.objects.filter(pk=stored.pk).update(status=InboundEmail.Status.FAILED, last_error="bug")
    enqueued.clear()

    assert inbound.retry(InboundEmail.objects.all()) == 1

    stored.refresh_from_db()
    assert (stored.status, stored.last_error) == (InboundEmail.Status.RECEIVED, "")
    assert enqueued == [stored.pk]
    assert tasks.process_inbound_email(stored.pk) == "processed"
