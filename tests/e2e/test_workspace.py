"""The agents' workspace in Chromium: the customer pane, answers, topics and the keyboard."""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from channels_app.models import Channel, EntryPoint
from conversations.models import Conversation, Customer, CustomerAttribute
from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-123"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screens"


@pytest.fixture
def browser():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        executable = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def sign_in(browser, live_server, email):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(5000)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/inbox/.*"))
    return page


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.fixture
def maya_twice():
    """Maya writes on Instagram; a customer who is Maya too wrote by email last week."""
    agent = factories.make_user(email="ada@example.test", password=PASSWORD, first_name="Ada")
    inbox = factories.make_inbox(name="Social", members=[agent])
    mail_inbox = factories.make_inbox(name="Email", kind=Channel.Kind.EMAIL, members=[agent])
    instagram = factories.make_entry_point(display_name="@acmeshoes")
    mailbox = factories.make_entry_point(
        kind=EntryPoint.Kind.EMAIL_ADDRESS, channel_kind=Channel.Kind.EMAIL, display_name="help@acme.test"
    )
    visitor = factories.make_customer(
        instagram, external_id="IGSID1", name="", username="maya.l", emails=["maya@x.test"]
    )
    conversation = factories.make_conversation(
        inbox=inbox, entry_point=instagram, customer=visitor, last_customer_message_at=timezone.now()
    )
    factories.make_item(conversation, text="Did my refund go through?")
    maya = factories.make_customer(mailbox, external_id="maya@x.test", name="Maya Lopez")
    old = factories.make_conversation(
        inbox=mail_inbox,
        entry_point=mailbox,
        customer=maya,
        status=Conversation.Status.CLOSED,
        closed_at=timezone.now(),
        opened_at=timezone.now() - timezone.timedelta(days=6),
        last_activity_at=timezone.now() - timezone.timedelta(days=6),
    )
    factories.make_item(
        old,
        text="Please refund order 1042",
        metadata={"subject": "Refund"},
        occurred_at=timezone.now() - timezone.timedelta(days=6),
    )
    CustomerAttribute.objects.create(key="plan", label="Plan")
    return agent, conversation, maya


def test_agent_merges_a_suggested_customer_edits_details_and_undoes(browser, live_server, maya_twice):
    from playwright.sync_api import expect

    agent, conversation, maya = maya_twice
    page = sign_in(browser, live_server, agent.email)
    page.goto(f"{live_server.url}/inbox/c/{conversation.pk}/")

    card = page.get_by_test_id("customer-card")
    suggestion = page.get_by_test_id("merge-suggestion")
    expect(suggestion).to_contain_text("maya@x.test")
    expect(suggestion).to_contain_text("Maya Lopez")
    expect(card.get_by_test_id("activity-item")).to_have_count(1)
    screenshot(page, "workspace-suggestion")

    page.get_by_test_id("merge-suggested").click()
    expect(page.locator(".conv-head h1")).to_have_text("Maya Lopez")
    expect(page.get_by_test_id("identities").locator("li")).to_have_count(2)
    expect(page.get_by_test_id("activity-item")).to_have_count(2)
    expect(page.get_by_test_id("activity-item").first).to_contain_text("Did my refund go through?")
    expect(page.get_by_test_id("activity-item").last).to_contain_text("Refund")
    expect(page.locator(".event").last).to_contain_text("Ada merged")
    screenshot(page, "workspace-merged")

    page.get_by_test_id("edit-customer").click()
    page.get_by_test_id("customer-phones").fill("+1 415 555 0100")
    page.get_by_test_id("attr-plan").fill("Pro")
    page.get_by_test_id("customer-notes").fill("Always polite; prefers email.")
    screenshot(page, "workspace-edit")
    page.get_by_test_id("save-customer").click()
    expect(page.get_by_test_id("customer-details")).to_contain_text("+14155550100")
    expect(page.get_by_test_id("customer-details")).to_contain_text("Pro")
    expect(page.get_by_test_id("customer-notes-shown")).to_contain_text("prefers email")

    page.get_by_test_id("undo-merge").locator("button").click()
    expect(page.get_by_test_id("identities").locator("li")).to_have_count(1)
    expect(page.get_by_test_id("merge-suggestion")).to_contain_text("Maya Lopez")
    assert Customer.objects.get(pk=maya.pk).conversations.count() == 1
