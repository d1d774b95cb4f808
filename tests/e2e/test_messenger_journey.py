"""Messenger in Chromium against the Meta sandbox, with a real Celery worker.

The admin adds a Page through the sandbox's Facebook Login popup; a Messenger
customer writes from the simulator; the agent sees it in the Messaging Inbox,
replies; the simulator shows the reply, and the customer's name comes from the
profile fetched by PSID.
"""

import re
from pathlib import Path

import pytest

from channels_app.meta.models import MessengerPage
from inbox.models import User
from tests.e2e.test_sandbox_journey import sandbox_app, sign_in  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_an_admin_adds_a_page_and_an_agent_answers_its_messenger_customer(sandbox_app, browser):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = sandbox_app
    admin = sign_in(
        browser,
        base,
        "admin@demo.test",
        "demo-admin-password",
        "/settings/meta/messengerpage/",
        totp_user=User.objects.get(email="admin@demo.test"),
    )

    # Settings › Messenger › Add Messenger: the sandbox's Facebook Login asks for Pages, then permissions.
    with admin.expect_popup() as popup_info:
        admin.click("#add-messengerpage")
    dialog = popup_info.value
    dialog.click("#fb-continue")
    expect(dialog.locator("h1")).to_contain_text("Messenger")
    dialog.screenshot(path=str(SHOTS / "sandbox-messenger-pages.png"))
    dialog.click("#fb-next")
    expect(dialog.locator("text=pages_messaging")).to_be_visible()
    dialog.click("#fb-done")
    expect(dialog.locator("text=Acme Blog")).to_be_visible()
    dialog.locator("label", has_text="Acme Outlet").locator("input").uncheck()
    dialog.locator("label", has_text="Acme Shoes").locator("input").uncheck()
    # Wait for the close while clicking: the popup may close before a later wait starts.
    with dialog.expect_event("close", timeout=30_000):
        dialog.click("#confirm-accounts")
    row = admin.locator("#result_list tr", has_text="Acme Blog")
    expect(row).to_contain_text("100000000000003")
    expect(row).to_contain_text("Connected")
    admin.screenshot(path=str(SHOTS / "settings-messenger-added.png"), full_page=True)
    assert MessengerPage.objects.get(page_id="100000000000003").status == "connected"

    # The agent is available in Messaging (seed_demo's Messaging Channel feeds her Inbox).
    agent = sign_in(browser, base, "ada@demo.test", "demo-agent-password", "/inbox/")
    agent.get_by_test_id("available-messaging").click()
    expect(agent.get_by_test_id("available-messaging")).to_have_attribute("aria-pressed", "true")

    # The simulator's Messenger customer writes to the Page.
    simulator = admin
    simulator.goto(f"{base}/sandbox/meta/customer/messenger/?page=100000000000003&customer=6100000000000002")
    expect(simulator.get_by_test_id("sim-page")).to_have_value("100000000000003")
    simulator.fill("#customer-text", "Do you post the blog's recipes anywhere else?")
    simulator.click("#customer-send")

    row = agent.locator(".conv-row", has_text="Do you post the blog")
    expect(row).to_be_visible()
    row.click()
    expect(agent.locator("#conversation-pane")).to_contain_text("Lina Haddad")
    agent.get_by_test_id("composer-text").fill("Yes, in our newsletter!")
    agent.get_by_test_id("composer-text").press("Enter")
    reply = agent.locator(".msg.kind-agent_message", has_text="Yes, in our newsletter!")
    expect(reply.locator(".delivery")).to_contain_text(re.compile("Delivered|Read"))
    agent.screenshot(path=str(SHOTS / "inbox-messenger-reply.png"))

    expect(simulator.locator(".bubble.business", has_text="Yes, in our newsletter!")).to_be_visible()
    simulator.screenshot(path=str(SHOTS / "sandbox-simulator-messenger.png"), full_page=True)
