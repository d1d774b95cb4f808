"""The whole Instagram journey in Chromium against the Meta sandbox, with a real Celery worker.

Admin adds an account through the sandbox's Facebook Login, chooses the default
Inbox; a customer writes from the simulator; an available agent sees it without
reloading, replies and likes; the simulator shows the reply and the heart.
"""

import re

import pytest

from channels_app.meta.models import InstagramAccount
from channels_app.models import Channel
from inbox.demo import current_totp_code, seed_demo
from inbox.models import User
from tests.conftest import purge_queues, start_worker, stop_process

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sandbox_app(services, live_server, settings, tmp_path):
    """The live app playing against its own Meta sandbox, and a worker that calls it."""
    urls = {
        "SITE_URL": live_server.url,
        "META_GRAPH_URL": f"{live_server.url}/sandbox/meta/graph",
        "META_LOGIN_URL": f"{live_server.url}/sandbox/meta/dialog",
    }
    for key, value in urls.items():
        setattr(settings, key, value)
    for kind in Channel.Kind.values:
        Channel.objects.get_or_create(kind=kind)
    seed_demo()
    purge_queues()
    worker = start_worker(
        tmp_path / "worker.log", {f"TEST_{key}": value for key, value in urls.items()}, pool="threads", concurrency=4
    )
    yield live_server.url
    stop_process(worker)


def sign_in(browser, base, email, password, next_path, totp_user=None):
    page = browser.new_context(viewport={"width": 1300, "height": 850}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    if totp_user is not None:
        page.fill("input[name=code]", current_totp_code(totp_user))
        page.click("button[type=submit]")
    page.wait_for_url(re.compile(f".*{re.escape(next_path)}.*"))
    return page


def test_the_whole_instagram_journey_in_the_sandbox(sandbox_app, browser):
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    base = sandbox_app
    admin_user = User.objects.get(email="admin@demo.test")

    # Admin: Settings › Instagram Messaging › Add Instagram Messaging, through the sandbox's Facebook Login.
    admin = sign_in(
        browser,
        base,
        "admin@demo.test",
        "demo-admin-password",
        "/settings/meta/instagramaccount/",
        totp_user=admin_user,
    )
    with admin.expect_popup() as popup_info:
        admin.click("#add-instagram")
    dialog = popup_info.value
    dialog.click("#fb-continue")
    dialog.click("#fb-next")
    dialog.click("#fb-next")
    dialog.click("#fb-done")
    expect(dialog.locator("text=@acmeoutlet")).to_be_visible()
    # Wait for the close while clicking: the popup may close before a later wait starts.
    with dialog.expect_event("close", timeout=30_000):
        dialog.click("#confirm-accounts")
    row = admin.locator("#result_list tr", has_text="Acme Outlet")
    expect(row).to_contain_text("acmeoutlet")
    expect(row).to_contain_text("100000000000002")
    expect(row).to_contain_text("Alex Admin")
    for column in ("Page Name", "Username", "Page ID", "Added By", "Added On"):
        expect(admin.locator("#result_list thead")).to_contain_text(column)
    assert InstagramAccount.objects.get(page_id="100000000000002").status == "connected"

    # Settings › Entry Points: the Messaging Channel's default Inbox.
    admin.goto(f"{base}/settings/channels_app/entrypointsettings/")
    admin.click("text=Messaging")
    admin.select_option("#id_default_inbox", label="Instagram")
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist")).to_contain_text("Entry Points were saved")

    # The agent becomes available in Messaging.
    agent = sign_in(browser, base, "ada@demo.test", "demo-agent-password", "/inbox/")
    agent.get_by_test_id("available-messaging").click()
    expect(agent.get_by_test_id("available-messaging")).to_have_attribute("aria-pressed", "true")

    # A customer writes from the simulator.
    simulator = admin
    # Pick the account by value, not by being the first option: seed_demo's @acmeshoes is connected too.
    simulator.goto(f"{base}/sandbox/meta/customer/?customer=5100000000000004")
    simulator.select_option("select[name=account]", value="17841400000000002")
    simulator.wait_for_url(re.compile(r".*account=17841400000000002.*"))
    expect(simulator.locator("select[name=account]")).to_have_value("17841400000000002")
    expect(simulator.locator("select[name=customer]")).to_have_value("5100000000000004")
    simulator.fill("#customer-text", "Hi, where is my order?")
    simulator.click("#customer-send")

    # The agent sees it without reloading, and replies.
    row = agent.locator(".conv-row", has_text="Hi, where is my order?")
    expect(row).to_be_visible()
    row.click()
    agent.get_by_test_id("composer-text").fill("It ships today!")
    agent.get_by_test_id("composer-text").press("Enter")
    reply = agent.locator(".msg.kind-agent_message", has_text="It ships today!")
    expect(reply.locator(".delivery")).to_contain_text(re.compile("Sent|Delivered|Read"))

    # The simulator shows the reply.
    expect(simulator.locator(".bubble.business", has_text="It ships today!")).to_be_visible()

    # The agent likes the customer's message; the simulator shows the heart.
    agent.locator(".msg", has_text="Hi, where is my order?").locator("[data-testid^=like-]").click()
    expect(simulator.locator(".bubble.customer", has_text="Hi, where is my order?").locator(".heart")).to_be_visible()
