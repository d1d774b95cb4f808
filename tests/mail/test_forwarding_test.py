"""Settings › Email addresses › Send a test: a real message through our receiver, shown live when it arrives."""

import socket
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.mail import forwarding_test, inbound, tasks
from channels_app.mail.admin import FORWARDING_TESTS_KEY
from channels_app.mail.models import EmailAddress, InboundEmail
from channels_app.mail.receiver import make_controller
from conversations.models import Conversation

from .helpers import make_email_address


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def enqueued(monkeypatch):
    ids = []
    monkeypatch.setattr(inbound, "enqueue_processing", ids.append)
    return ids


@pytest.fixture
def receiver(transactional_db, settings, enqueued):
    settings.MAIL_FORWARDING_DOMAIN = "in.support.example.com"
    settings.MAIL_RECEIVER_HOST, settings.MAIL_RECEIVER_PORT = "127.0.0.1", free_port()
    controller = make_controller()
    controller.start()
    yield controller
    controller.stop()


def test_the_test_message_reaches_the_forwarding_address_through_our_receiver(receiver, enqueued):
    address = make_email_address()

    token = forwarding_test.send_test(address)

    stored = InboundEmail.objects.get()
    assert stored.email_address == address
    assert stored.envelope_recipients == [address.forwarding_address]
    assert f"Forwarding test {token}".encode() in bytes(stored.raw)
    assert enqueued == [stored.pk]


def test_processing_records_the_test_and_starts_no_conversation(receiver):
    address = make_email_address()
    token = forwarding_test.send_test(address)
    stored = InboundEmail.objects.get()

    assert tasks.process_inbound_email(stored.pk) == "ignored"

    stored.refresh_from_db()
    assert stored.last_error == f"Forwarding test {token}"
    assert not Conversation.objects.exists()


def test_a_test_header_we_did_not_sign_is_processed_like_any_mail(db, enqueued):
    address = make_email_address()
    raw = (
        b"From: Mallory <m@example.org>\r\nTo: support@acme.com\r\nSubject: Help\r\n"
        b"Message-ID: <x1@example.org>\r\nX-Support-Test: made-up\r\n\r\nHello\r\n"
    )
    stored = inbound.store_inbound_email(raw, InboundEmail.Via.SMTP, address)

    assert tasks.process_inbound_email(stored.pk) == "processed"
    assert Conversation.objects.count() == 1


def test_a_receiver_that_is_not_running_is_named(db, settings):
    settings.MAIL_RECEIVER_HOST, settings.MAIL_RECEIVER_PORT = "127.0.0.1", free_port()

    with pytest.raises(forwarding_test.SendTestFailed) as failed:
        forwarding_test.send_test(make_email_address())

    assert str(failed.value).startswith(
        f"The app's mail receiver is not running on 127.0.0.1:{settings.MAIL_RECEIVER_PORT}."
    )


def stored_test(address, token, received_at, status=InboundEmail.Status.IGNORED):
    raw = forwarding_test.build_test_message(address, token).as_bytes()
    return InboundEmail.objects.create(
        raw=raw, via=InboundEmail.Via.SMTP, email_address=address, received_at=received_at, status=status
    )


def test_status_says_how_long_ago_the_test_arrived(db):
    address = make_email_address()
    sent_at = timezone.now()
    stored_test(address, "abc123", sent_at + timedelta(seconds=1))

    status = forwarding_test.forwarding_status(address, "abc123", sent_at, sent_at + timedelta(seconds=4))

    assert (status.state, status.message) == ("arrived", "Forwarding works, received 3 s ago.")


def test_status_waits_for_the_test_and_ignores_other_tests(db):
    address = make_email_address()
    sent_at = timezone.now()
    stored_test(address, "other1", sent_at)

    status = forwarding_test.forwarding_status(address, "abc123", sent_at, sent_at + timedelta(seconds=2))

    assert status.state == "waiting"
    assert not status.finished


def test_status_says_when_nothing_arrived_in_60_seconds(db):
    address = make_email_address()
    sent_at = timezone.now()

    status = forwarding_test.forwarding_status(address, "abc123", sent_at, sent_at + timedelta(seconds=61))

    assert status.state == "missing"
    assert status.message.startswith("Nothing arrived within 60 s of sending.")


def test_status_notices_a_test_no_worker_has_taken(db):
    address = make_email_address()
    sent_at = timezone.now()
    stored_test(address, "abc123", sent_at, status=InboundEmail.Status.RECEIVED)

    status = forwarding_test.forwarding_status(address, "abc123", sent_at, sent_at + timedelta(seconds=30))

    assert status.state == "arrived"
    assert "is the Celery worker running?" in status.message


def test_the_address_page_shows_the_forwarding_address_with_a_copy_button(admin_client, settings):
    settings.MAIL_FORWARDING_DOMAIN = "in.support.example.com"
    address = make_email_address()

    page = admin_client.get(reverse("admin:mail_emailaddress_change", args=[address.pk])).content.decode()

    assert f'<code id="forwarding-address">{address.forwarding_address}</code>' in page
    assert 'data-copy="#forwarding-address"' in page
    assert reverse("admin:mail_emailaddress_send_test", args=[address.pk]) in page


def test_adding_an_address_leads_to_its_page_with_the_forwarding_address(admin_client):
    response = admin_client.post(
        reverse("admin:mail_emailaddress_add"),
        {"address": "help@acme.com", "imap_port": "993", "imap_mailbox": "INBOX"},
    )

    address = EmailAddress.objects.get(address="help@acme.com")
    assert response["Location"] == reverse("admin:mail_emailaddress_change", args=[address.pk])


def test_send_a_test_then_the_page_shows_that_forwarding_works(receiver, client, admin_user):
    client.force_login(admin_user)
    address = make_email_address()

    response = client.post(reverse("admin:mail_emailaddress_send_test", args=[address.pk]))

    token = response["Location"].split("forwarding_test=")[1].split("#")[0]
    page = client.get(response["Location"]).content.decode()
    assert "Forwarding works, received" in page
    box = client.get(reverse("admin:mail_emailaddress_test_status", args=[address.pk, token])).content.decode()
    assert "Forwarding works, received" in box
    assert "hx-get" not in box  # done: no more polling


def test_while_the_test_is_on_its_way_the_box_polls_every_2_seconds(admin_client):
    address = make_email_address()
    session = admin_client.session
    session[FORWARDING_TESTS_KEY] = {"abc123": timezone.now().isoformat()}
    session.save()
    status_url = reverse("admin:mail_emailaddress_test_status", args=[address.pk, "abc123"])

    box = admin_client.get(status_url).content.decode()

    assert f'hx-get="{status_url}" hx-trigger="every 2s"' in box
    assert "waiting for it" in box


def test_send_a_test_with_the_receiver_down_shows_what_is_wrong(admin_client, settings):
    settings.MAIL_RECEIVER_HOST, settings.MAIL_RECEIVER_PORT = "127.0.0.1", free_port()
    address = make_email_address()

    response = admin_client.post(reverse("admin:mail_emailaddress_send_test", args=[address.pk]), follow=True)

    assert "The app&#x27;s mail receiver is not running on 127.0.0.1:" in response.content.decode()


def test_the_status_of_a_test_someone_else_sent_is_not_shown(admin_client):
    address = make_email_address()

    response = admin_client.get(reverse("admin:mail_emailaddress_test_status", args=[address.pk, "abc123"]))

    assert response.status_code == 404


def test_agents_cannot_send_tests(client, db):
    from tests.factories import make_user

    client.force_login(make_user())
    address = make_email_address()

    response = client.post(reverse("admin:mail_emailaddress_send_test", args=[address.pk]))

    assert response.status_code in (302, 403)
    assert not InboundEmail.objects.exists()
