"""Removing an email address in Settings, and adding it again: nothing lost, and everyone told why."""

import smtplib

import pytest
from django.urls import reverse

from channels_app.mail import addresses, inbound, tasks
from channels_app.mail.models import InboundEmail
from conversations import outbound
from conversations.models import OutboundMessage
from conversations.outbound import SendRefused
from tests.factories import make_conversation, make_customer, make_inbox, make_user

from .helpers import make_email_address
from .test_receiver import MESSAGE, enqueued, receiver  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def address():
    return make_email_address("help@acme.com")


@pytest.fixture
def conversation(address):
    customer = make_customer(address.entry_point, external_id="jane@example.org")
    return make_conversation(inbox=make_inbox(), entry_point=address.entry_point, customer=customer)


def test_removing_fails_queued_replies_with_the_reason_and_pauses_the_entry_point(address, conversation):
    item = outbound.send_reply(conversation, make_user(), "On its way")

    failed = addresses.remove_address(address)

    assert failed == 1
    message = OutboundMessage.objects.get(item=item)
    assert message.status == OutboundMessage.Status.FAILED
    assert "help@acme.com was removed in Settings. Retry once an admin has added it again." in message.last_error
    address.entry_point.refresh_from_db()
    assert address.entry_point.active is False
    assert address.removed


def test_a_reply_to_a_removed_address_is_refused_in_plain_words(address, conversation):
    addresses.remove_address(address)

    with pytest.raises(SendRefused, match="help@acme.com was removed in Settings; replies can't be sent"):
        outbound.send_reply(conversation, make_user(), "Hello?")


def test_adding_it_again_lets_replies_go_out_and_routes_mail_again(address, conversation):
    addresses.remove_address(address)

    addresses.add_again(address)

    address.entry_point.refresh_from_db()
    assert address.entry_point.active is True
    assert inbound.find_email_address("help@acme.com") == address
    assert outbound.send_reply(conversation, make_user(), "Back again") is not None


def test_mail_for_a_removed_address_or_its_forwarding_address_finds_no_address(address):
    addresses.remove_address(address)

    assert inbound.find_email_address("help@acme.com") is None
    assert inbound.find_email_address(address.forwarding_address) is None


def test_the_receiver_refuses_mail_for_a_removed_address(receiver, enqueued):  # noqa: F811
    address = make_email_address("help@acme.com")
    addresses.remove_address(address)

    with smtplib.SMTP(receiver.hostname, receiver.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("jane@example.org", ["help@acme.com"], MESSAGE)

    assert refused.value.recipients["help@acme.com"][0] == 550
    assert not InboundEmail.objects.exists()


def test_imap_polling_skips_a_removed_address(monkeypatch):
    polled = []
    monkeypatch.setattr(tasks.imap, "poll_mailbox", polled.append)
    monkeypatch.setattr(tasks.poll_mailbox, "delay", lambda pk: tasks.poll_mailbox(pk))
    kept = make_email_address("help@acme.com", imap_host="imap.acme.com", imap_username="help")
    gone = make_email_address("sales@acme.com", imap_host="imap.acme.com", imap_username="sales")
    addresses.remove_address(gone)

    assert tasks.poll_mailboxes() == 1
    assert tasks.poll_mailbox(gone.pk) == 0
    assert [address.pk for address in polled] == [kept.pk]


# --- Settings › Email addresses -----------------------------------------------------------


def test_the_remove_page_asks_first_and_changes_nothing(admin_client, address):
    response = admin_client.get(reverse("admin:mail_emailaddress_remove", args=[address.pk]))

    assert response.status_code == 200
    assert b"will stop receiving and sending mail" in response.content
    assert b"csrfmiddlewaretoken" in response.content
    address.refresh_from_db()
    assert not address.removed


def test_yes_removes_it_and_says_what_happened(admin_client, address, conversation):
    outbound.send_reply(conversation, make_user(), "On its way")

    response = admin_client.post(reverse("admin:mail_emailaddress_remove", args=[address.pk]), follow=True)

    address.refresh_from_db()
    assert address.removed
    assert "Removed help@acme.com. Its conversations and history are kept. 1 queued reply failed" in (
        response.content.decode()
    )
    change = admin_client.get(reverse("admin:mail_emailaddress_change", args=[address.pk])).content.decode()
    assert 'data-testid="address-removed"' in change
    assert 'data-testid="remove-address"' not in change
    listing = admin_client.get(reverse("admin:mail_emailaddress_changelist")).content.decode()
    assert "help@acme.com" in listing and "Removed" in listing


def test_add_again_is_a_post_and_restores_the_address(admin_client, address):
    addresses.remove_address(address)
    url = reverse("admin:mail_emailaddress_add_again", args=[address.pk])

    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url, follow=True)

    address.refresh_from_db()
    assert not address.removed
    assert "Added help@acme.com again" in response.content.decode()


def test_agents_cannot_remove_an_address(client, address):
    client.force_login(make_user())

    response = client.post(reverse("admin:mail_emailaddress_remove", args=[address.pk]))

    assert response.status_code == 302  # to the Settings sign-in
    address.refresh_from_db()
    assert not address.removed
