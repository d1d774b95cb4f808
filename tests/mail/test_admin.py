import pytest
from django.urls import reverse

from channels_app.mail import inbound
from channels_app.mail.models import EmailAddress, InboundEmail
from channels_app.models import Channel, EntryPoint

from .helpers import make_email_address

PAGES = [
    "admin:mail_emailaddress_changelist",
    "admin:mail_emailaddress_add",
    "admin:mail_inboundemail_changelist",
]


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    ids = []
    monkeypatch.setattr(inbound, "enqueue_processing", ids.append)
    return ids


@pytest.mark.parametrize("name", PAGES)
def test_admin_opens_the_email_settings_pages(admin_client, name):
    assert admin_client.get(reverse(name)).status_code == 200


def add_form(**overrides):
    data = {
        "address": "Help@Acme.com",
        "display_name": "Acme Help",
        "from_address": "",
        "signature": "The Acme team",
        "imap_host": "",
        "imap_port": "993",
        "imap_use_tls": "on",
        "imap_username": "",
        "imap_password": "",
        "imap_mailbox": "INBOX",
    }
    data.update(overrides)
    return data


def test_adding_an_address_makes_it_an_entry_point_of_the_email_channel(admin_client, admin_user):
    response = admin_client.post(reverse("admin:mail_emailaddress_add"), add_form())

    assert response.status_code == 302
    address = EmailAddress.objects.get()
    assert address.address == "help@acme.com"
    assert address.created_by == admin_user
    assert address.entry_point.kind == EntryPoint.Kind.EMAIL_ADDRESS
    assert address.entry_point.channel.kind == Channel.Kind.EMAIL
    assert address.entry_point.external_id == "help@acme.com"


def test_an_address_already_added_is_refused(admin_client):
    make_email_address("help@acme.com")

    response = admin_client.post(reverse("admin:mail_emailaddress_add"), add_form())

    assert response.status_code == 200
    assert "already an Entry Point" in response.content.decode()


def test_an_empty_password_field_keeps_the_saved_imap_password(admin_client):
    address = make_email_address("help@acme.com", imap_host="imap.acme.com", imap_username="u", imap_password="old")
    change = add_form(imap_host="imap.acme.com", imap_username="u")
    del change["address"]

    response = admin_client.post(reverse("admin:mail_emailaddress_change", args=[address.pk]), change)

    assert response.status_code == 302
    address.refresh_from_db()
    assert address.imap_password == "old"


def test_the_imap_password_is_never_shown(admin_client):
    address = make_email_address("help@acme.com", imap_password="s3cret-imap")

    response = admin_client.get(reverse("admin:mail_emailaddress_change", args=[address.pk]))

    assert "s3cret-imap" not in response.content.decode()


def test_inbound_mail_page_shows_the_raw_message_escaped(admin_client):
    stored = inbound.store_inbound_email(
        b"From: a@example.org\n\n<script>alert(1)</script>", InboundEmail.Via.SMTP, make_email_address()
    )

    response = admin_client.get(reverse("admin:mail_inboundemail_change", args=[stored.pk]))

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.content.decode()


def test_failed_mail_can_be_retried_from_the_list(admin_client, enqueued):
    stored = inbound.store_inbound_email(b"From: a@example.org\n\nhi", InboundEmail.Via.SMTP, make_email_address())
    InboundEmail.objects.filter(pk=stored.pk).update(status=InboundEmail.Status.FAILED)

    admin_client.post(
        reverse("admin:mail_inboundemail_changelist"), {"action": "retry", "_selected_action": [stored.pk]}
    )

    stored.refresh_from_db()
    assert stored.status == InboundEmail.Status.RECEIVED
    assert enqueued[-1] == stored.pk
