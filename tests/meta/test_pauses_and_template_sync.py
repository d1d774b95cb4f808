"""Messenger and WhatsApp pauses email the admins once, like Instagram's; the hourly template sync."""

import pytest
import responses

from channels_app.meta import accounts
from channels_app.meta.models import MessengerPage, WhatsAppNumber, WhatsAppTemplate
from channels_app.meta.tasks import sync_whatsapp_templates
from config.beat import BEAT_SCHEDULE
from tests.factories import make_admin, make_messenger_page, make_whatsapp_number
from tests.meta.test_product_settings import TEMPLATES

GRAPH = "https://graph.facebook.com/v23.0"
WABA = "102290129340398"


def test_a_messenger_page_that_needs_reauthorization_emails_the_admins_once(db, mailoutbox):
    make_admin(email="owner@example.test")
    page = make_messenger_page(page_name="Acme Blog")

    accounts.mark_needs_reauthorization(page, "Meta refused the page token: Session has expired.")
    accounts.mark_needs_reauthorization(page, "Meta refused the page token: Session has expired.")

    assert MessengerPage.objects.get().status == MessengerPage.Status.NEEDS_REAUTHORIZATION
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.subject == "The Page Acme Blog needs reauthorization for Messenger"
    assert "Settings › Messenger" in mail.body and "/settings/meta/messengerpage/" in mail.body
    assert mail.to == ["owner@example.test"]


def test_a_paused_whatsapp_number_emails_the_admins(db, mailoutbox):
    make_admin(email="owner@example.test")
    number = make_whatsapp_number(verified_name="Acme Shoes")

    accounts.mark_needs_reauthorization(
        number, "WhatsApp sending is stopped by a payment problem on the business account."
    )

    assert WhatsAppNumber.objects.get().status == WhatsAppNumber.Status.NEEDS_REAUTHORIZATION
    assert "payment problem" in mailoutbox[0].body and "/settings/meta/whatsappnumber/" in mailoutbox[0].body


@responses.activate
def test_the_periodic_sync_refreshes_each_connected_waba_once(db):
    make_whatsapp_number(phone_number_id="1", waba_id=WABA)
    make_whatsapp_number(phone_number_id="2", waba_id=WABA)
    make_whatsapp_number(phone_number_id="3", waba_id="999", status=WhatsAppNumber.Status.REMOVED)
    responses.get(f"{GRAPH}/{WABA}/message_templates", json=TEMPLATES)

    result = sync_whatsapp_templates()

    assert list(result) == [WABA]
    assert len(responses.calls) == 1
    assert WhatsAppTemplate.objects.filter(waba_id=WABA).exists()


@responses.activate
def test_one_refusing_waba_does_not_stop_the_others(db):
    make_whatsapp_number(phone_number_id="1", waba_id="111")
    make_whatsapp_number(phone_number_id="2", waba_id=WABA)
    responses.get(f"{GRAPH}/111/message_templates", status=400, json={"error": {"message": "No", "code": 190}})
    responses.get(f"{GRAPH}/{WABA}/message_templates", json=TEMPLATES)

    result = sync_whatsapp_templates()

    assert result["111"].startswith("refused")
    assert result[WABA].endswith("approved")


@pytest.mark.parametrize("name", ["sync-whatsapp-templates"])
def test_beat_syncs_templates(name):
    assert BEAT_SCHEDULE[name]["task"] == "channels_app.tasks.sync_whatsapp_templates"
