"""An agent works a conversation in Chromium; an agent of another inbox never sees it."""

import re
import time

import pytest
from django.db import OperationalError, transaction
from django.utils import timezone

from conversations.models import Conversation, TimelineItem
from conversations.routing import route_conversation
from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-123"


def sign_in(browser, live_server, email):
    page = browser.new_page()
    page.set_default_timeout(5000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/inbox/.*"))
    return page


def while_the_server_waits(change):
    """Make a change from the test while the live server polls. With SQLite in memory the server
    thread shares this connection, and a table it is writing (a poll numbering changes, marking
    read) fails at once instead of waiting: try again, as a worker's task would."""
    for attempt in range(50):
        try:
            with transaction.atomic():
                return change()
        except OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.1)


def customer_writes(entry_point, text):
    """What the inbound path does: a conversation routed to its inbox with the customer's message."""
    customer = factories.make_customer(entry_point, name="Maya Lopez", username="mayalopez")
    now = timezone.now()
    conversation = Conversation.objects.create(customer=customer, entry_point=entry_point, last_customer_message_at=now)
    route_conversation(conversation)
    factories.make_item(conversation, text=text, external_id="mid.e2e.1", occurred_at=now)
    Conversation.touch(conversation.pk)
    return conversation


def test_agent_works_a_conversation_live(browser, live_server):
    from playwright.sync_api import expect

    agent = factories.make_user(email="ada@example.test", password=PASSWORD)
    factories.make_inbox(name="Support", default=True, members=[agent])
    entry_point = factories.make_entry_point(display_name="@acmeshoes")
    factories.make_instagram_account(entry_point)
    outsider = factories.make_user(email="ben@example.test", password=PASSWORD)
    factories.make_inbox(name="Other", members=[outsider])

    page = sign_in(browser, live_server, agent.email)
    expect(page.locator(".list-empty")).to_contain_text("All caught up")
    page.get_by_test_id("available-messaging").click()
    expect(page.get_by_test_id("available-messaging")).to_have_attribute("aria-pressed", "true")

    conversation = while_the_server_waits(lambda: customer_writes(entry_point, "Where is my order?"))
    row = page.locator(f".conv-row[data-conversation='{conversation.pk}']")
    expect(row).to_contain_text("Where is my order?")
    conversation.refresh_from_db()
    assert conversation.assignee == agent

    row.click()
    expect(page.locator(".conv-head h1")).to_have_text("Maya Lopez")
    page.get_by_test_id("composer-text").fill("It ships today!")
    page.get_by_test_id("composer-text").press("Enter")
    reply = page.locator(".msg.kind-agent_message").last
    expect(reply).to_contain_text("It ships today!")
    expect(reply.locator(".delivery")).to_contain_text("Queued")

    item = TimelineItem.objects.get(conversation=conversation, kind=TimelineItem.Kind.AGENT_MESSAGE)

    def delivered():
        TimelineItem.objects.filter(pk=item.pk).update(delivery_status="sent", external_id="mid.sent.1")
        Conversation.touch(conversation.pk)

    while_the_server_waits(delivered)
    expect(page.get_by_test_id(f"delivery-{item.pk}")).to_contain_text("Sent")

    message = TimelineItem.objects.get(external_id="mid.e2e.1")
    page.get_by_test_id(f"like-{message.pk}").click()
    expect(page.locator(f"#item-{message.pk} .liked")).to_be_visible()

    page.locator(".composer-tab", has_text="Note").click()
    page.get_by_test_id("composer-text").fill("Customer is a VIP")
    page.get_by_test_id("composer-text").press("Enter")
    expect(page.locator(".msg.kind-note")).to_contain_text("Customer is a VIP")

    page.get_by_test_id("close").click()
    expect(page.get_by_test_id("conversation-status")).to_have_text("Closed")
    conversation.refresh_from_db()
    assert conversation.status == "closed"

    other = sign_in(browser, live_server, outsider.email)
    expect(other.locator(".list-empty")).to_be_visible()
    assert "Maya Lopez" not in other.content()
    response = other.goto(f"{live_server.url}/inbox/c/{conversation.pk}/")
    assert response.status == 404
