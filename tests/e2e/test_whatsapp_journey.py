"""Settings › Messenger and › WhatsApp in Chromium, and a WhatsApp reply outside the 24-hour window:
the composer offers the approved templates and sends one with its variables filled in."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from channels_app.meta.models import WhatsAppTemplate
from conversations.models import Conversation, OutboundMessage, TimelineItem
from conversations.routing import route_conversation
from tests import factories
from tests.conftest import totp_code_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_settings_pages_and_a_template_outside_the_window(live_server, admin_user):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    factories.make_inbox(name="Messaging", default=True, members=[admin_user])
    factories.make_messenger_page(added_by=admin_user)
    number = factories.make_whatsapp_number(
        verified_name="Acme Shoes", quality_rating="GREEN", messaging_limit_tier="TIER_1K", added_by=admin_user
    )
    WhatsAppTemplate.objects.create(
        waba_id=number.waba_id,
        name="order_update",
        language="en_US",
        category="UTILITY",
        components=[{"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."}],
        variables=[
            {"component": "body", "name": "1", "example": "Ana"},
            {"component": "body", "name": "2", "example": "#42"},
        ],
    )
    customer = factories.make_customer(number.entry_point, external_id="16505551234", name="Sheena Nelson")
    yesterday = timezone.now() - timedelta(hours=30)
    conversation = Conversation.objects.create(
        customer=customer, entry_point=number.entry_point, last_customer_message_at=yesterday, opened_at=yesterday
    )
    route_conversation(conversation)
    factories.make_item(
        conversation, text="Does it come in another color?", external_id="wamid.1", occurred_at=yesterday
    )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(8000)
        page.goto(f"{live_server.url}/accounts/login/?next=/settings/meta/messengerpage/")
        page.fill("input[name=login]", admin_user.email)
        page.fill("input[name=password]", "pw-for-tests-123")
        page.click("button[type=submit]")
        page.fill("input[name=code]", totp_code_for(admin_user))
        page.click("button[type=submit]")
        page.wait_for_url("**/messengerpage/")
        expect(page.locator("#add-messengerpage")).to_have_text("Add Messenger")
        expect(page.locator("#result_list")).to_contain_text("Acme Shoes")
        page.screenshot(path=str(SHOTS / "settings-messenger.png"), full_page=True)

        page.goto(f"{live_server.url}/settings/meta/whatsappnumber/")
        expect(page.locator("#add-whatsappnumber")).to_have_text("Add WhatsApp")
        expect(page.locator("#result_list")).to_contain_text("+1 555-078-3881")
        expect(page.locator("#result_list")).to_contain_text("TIER_1K")
        page.screenshot(path=str(SHOTS / "settings-whatsapp.png"), full_page=True)

        page.goto(f"{live_server.url}/inbox/c/{conversation.pk}/")
        picker = page.get_by_test_id("template-picker")
        expect(picker).to_contain_text("Outside the 24-hour window WhatsApp allows only approved templates")
        expect(page.get_by_test_id("send-reply")).to_be_disabled()
        variables = page.get_by_test_id("template-variable")
        variables.nth(0).fill("Sheena")
        variables.nth(1).fill("#1001")
        page.screenshot(path=str(SHOTS / "whatsapp-template-picker.png"))
        page.get_by_test_id("send-template").click()
        expect(page.locator("#conversation-pane")).to_contain_text("Hi Sheena, your order #1001 has shipped.")
        page.screenshot(path=str(SHOTS / "whatsapp-template-sent.png"))
        browser.close()

    item = TimelineItem.objects.get(kind=TimelineItem.Kind.AGENT_MESSAGE)
    assert OutboundMessage.objects.get(item=item).payload["template"]["variables"] == {
        "body:1": "Sheena",
        "body:2": "#1001",
    }
