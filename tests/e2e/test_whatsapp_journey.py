"""Settings › Messenger and › WhatsApp in Chromium, and a WhatsApp reply outside the 24-hour window:
the composer offers the approved templates and sends one with its variables filled in.

The second test is the whole journey against the Meta sandbox with a real Celery worker: the number
is added through the sandbox's Embedded Signup, an Exception routes it, the customer writes, the
agent replies, and outside the window a template goes out and is reported delivered."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from channels_app.meta.models import WhatsAppNumber, WhatsAppTemplate
from channels_app.models import RoutingException
from conversations.models import Conversation, OutboundMessage, TimelineItem
from conversations.routing import route_conversation
from inbox.models import Inbox, User
from sandbox.png import picture
from tests import factories
from tests.conftest import totp_code_for
from tests.e2e.browsers import launch_chromium
from tests.e2e.test_sandbox_journey import sandbox_app, sign_in  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
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
        browser = launch_chromium(playwright)
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


# --- The whole journey in the sandbox: Embedded Signup, a customer, a reply, a template ---------------


@pytest.mark.integration
def test_whatsapp_added_through_embedded_signup_in_the_sandbox(sandbox_app, browser):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = sandbox_app
    admin = sign_in(
        browser,
        base,
        "admin@demo.test",
        "demo-admin-password",
        "/settings/meta/whatsappnumber/",
        totp_user=User.objects.get(email="admin@demo.test"),
    )

    # Settings › WhatsApp › Add WhatsApp: the sandbox's Embedded Signup shares the Acme Shoes WABA.
    with admin.expect_popup() as popup_info:
        admin.click("#add-whatsappnumber")
    dialog = popup_info.value
    expect(dialog.locator("h1")).to_contain_text("Connect your WhatsApp Business Account")
    dialog.click("#fb-continue")
    expect(dialog.locator("label", has_text="102290129340398")).to_contain_text("+1 555-078-3881")
    dialog.screenshot(path=str(SHOTS / "sandbox-embedded-signup.png"), full_page=True)
    dialog.click("#fb-next")
    expect(dialog.locator("text=whatsapp_business_messaging")).to_be_visible()
    dialog.click("#fb-done")
    expect(dialog.locator("text=+1 555-078-3882")).to_be_visible()
    dialog.locator("label", has_text="+1 555-078-3882").locator("input").uncheck()
    # Wait for the close while clicking: the popup may close before a later wait starts.
    with dialog.expect_event("close", timeout=30_000):
        dialog.click("#confirm-accounts")
    row = admin.locator("#result_list tr", has_text="+1 555-078-3881")
    for text in ("Acme Shoes", "106540352242922", "102290129340398", "Green", "TIER_1K", "Alex Admin", "2 approved"):
        expect(row).to_contain_text(text)
    admin.screenshot(path=str(SHOTS / "settings-whatsapp-added.png"), full_page=True)
    number = WhatsAppNumber.objects.get(phone_number_id="106540352242922")
    assert number.status == "connected"
    assert not WhatsAppNumber.objects.filter(phone_number_id="106540352242923").exists()

    # An Exception sends this number's conversations to the VIP Inbox instead of the default.
    vip = Inbox.objects.get(name="VIP")
    RoutingException.objects.create(channel=number.entry_point.channel, entry_point=number.entry_point, inbox=vip)

    agent = sign_in(browser, base, "ada@demo.test", "demo-agent-password", "/inbox/")
    agent.get_by_test_id("available-messaging").click()
    expect(agent.get_by_test_id("available-messaging")).to_have_attribute("aria-pressed", "true")

    # The simulator's WhatsApp customer writes.
    simulator = admin
    simulator.goto(f"{base}/sandbox/meta/customer/whatsapp/?number=106540352242922&customer=16505551234")
    simulator.fill("#customer-text", "Do you have the trainers in blue?")
    simulator.click("#customer-send")

    row = agent.locator(".conv-row", has_text="Do you have the trainers in blue?")
    expect(row).to_be_visible()
    conversation = Conversation.objects.get(entry_point=number.entry_point)
    assert conversation.inbox == vip
    row.click()
    expect(agent.locator("#conversation-pane")).to_contain_text("Sheena Nelson")
    agent.get_by_test_id("composer-text").fill("We do, in sizes 36 to 42.")
    agent.get_by_test_id("composer-text").press("Enter")
    reply = agent.locator(".msg.kind-agent_message", has_text="We do, in sizes 36 to 42.")
    expect(reply.locator(".delivery")).to_contain_text(re.compile("Delivered|Read"))
    expect(simulator.locator(".bubble.business", has_text="We do, in sizes 36 to 42.")).to_be_visible()

    # A picture from the composer: uploaded to the Cloud API stand-in and sent by its media id.
    expect(agent.get_by_test_id("attachment-limits")).to_contain_text("WhatsApp: image up to 5 MB (JPEG or PNG)")
    agent.get_by_test_id("attach-input").set_input_files(
        files=[{"name": "blue-trainers.png", "mimeType": "image/png", "buffer": picture("blue-trainers", size=120)}]
    )
    agent.locator(".composer").screenshot(path=str(SHOTS / "inbox-whatsapp-composer-file.png"))
    agent.get_by_test_id("send-reply").click()
    sent_picture = agent.locator(".msg.kind-agent_message", has=agent.locator("img"))
    expect(sent_picture.locator(".delivery")).to_contain_text(re.compile("Delivered|Read"))
    expect(simulator.locator("[data-testid=whatsapp-upload]")).to_have_attribute("alt", "blue-trainers.png")
    simulator.screenshot(path=str(SHOTS / "sandbox-simulator-whatsapp.png"), full_page=True)

    # A day later the 24-hour window is closed: only an approved template can go.
    Conversation.objects.filter(pk=conversation.pk).update(
        last_customer_message_at=timezone.now() - timedelta(hours=25)
    )
    agent.goto(f"{base}/inbox/c/{conversation.pk}/")
    picker = agent.get_by_test_id("template-picker")
    expect(picker).to_contain_text("Outside the 24-hour window WhatsApp allows only approved templates")
    agent.get_by_test_id("template-select").select_option(label="order_update · en_US · utility")
    variables = picker.locator("fieldset:not([hidden]) [data-testid=template-variable]")
    variables.nth(0).fill("Sheena")
    variables.nth(1).fill("#1042")
    agent.screenshot(path=str(SHOTS / "inbox-whatsapp-template-picker.png"))
    agent.get_by_test_id("send-template").click()
    sent = agent.locator(".msg.kind-agent_message", has_text="Hi Sheena, your order #1042 has shipped.")
    expect(sent.locator(".delivery")).to_contain_text(re.compile("Delivered|Read"))
    agent.screenshot(path=str(SHOTS / "inbox-whatsapp-template-delivered.png"))
    expect(simulator.locator(".bubble.business", has_text="Hi Sheena, your order #1042 has shipped.")).to_be_visible()
