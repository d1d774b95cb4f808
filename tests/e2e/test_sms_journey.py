"""SMS and Voice in Chromium against the Twilio sandbox, with a real Celery worker.

Admin connects a Twilio account, buys a number in the sandbox and connects it to
SMS and Voice; a customer texts from the simulator; an available agent replies
(the composer counts the segments) and sees it delivered; the simulator shows
the reply. Then the customer calls, nobody answers, and the voicemail plays in
the timeline.
"""

import re
from pathlib import Path

import pytest

from channels_app.models import Channel
from channels_app.telephony.models import TwilioAccount
from inbox.demo import seed_demo
from inbox.models import Inbox, InboxMembership, User
from tests.conftest import purge_queues, start_worker, stop_process

from .test_sandbox_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "sms"
ACCOUNT_SID = "AC" + "5a" * 16


@pytest.fixture
def twilio_sandbox(services, live_server, settings, tmp_path):
    """The live app with Twilio played by its own sandbox, and a worker that calls it."""
    urls = {"SITE_URL": live_server.url, "TWILIO_API_BASE": f"{live_server.url}/sandbox/twilio"}
    for key, value in urls.items():
        setattr(settings, key, value)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    for kind in Channel.Kind.values:
        Channel.objects.get_or_create(kind=kind)
    seed_demo()
    ada = User.objects.get(email="ada@demo.test")
    ada.phone_number = "+14155550177"
    ada.save()
    for name, kind in (("Texts", Channel.Kind.SMS), ("Calls", Channel.Kind.VOICE)):
        inbox = Inbox.objects.create(name=name, channel=Channel.objects.get(kind=kind))
        Channel.objects.filter(kind=kind).update(default_inbox=inbox)
        InboxMembership.objects.create(inbox=inbox, user=ada)
    purge_queues()
    env = {f"TEST_{key}": value for key, value in urls.items()}
    worker = start_worker(tmp_path / "worker.log", env, pool="threads", concurrency=4)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield live_server.url
    stop_process(worker)


def test_buy_connect_text_reply_delivered_and_voicemail(twilio_sandbox, browser):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    base = twilio_sandbox
    admin_user = User.objects.get(email="admin@demo.test")
    admin = sign_in(
        browser, base, "admin@demo.test", "demo-admin-password", "/settings/channels_app/phonenumber/", admin_user
    )

    # Connect a Twilio account (the sandbox plays it), then search and buy a number.
    admin.locator(".object-tools a", has_text="Connect a Twilio account").click()
    admin.fill("#id_account_sid", ACCOUNT_SID)
    admin.fill("#id_auth_token", "sandbox-auth-token-for-the-journey")
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist")).to_contain_text("connected")
    assert TwilioAccount.objects.get().friendly_name == "Sandbox Twilio account"
    admin.get_by_test_id("buy-number").click()
    admin.fill("#id_area_code", "415")
    admin.get_by_test_id("search-numbers").click()
    expect(admin.get_by_test_id("number-results")).to_contain_text("+1 415-555-0100")
    admin.screenshot(path=SHOTS / "1-search-results.png", full_page=True)
    admin.get_by_test_id("buy-+14155550100").click()

    # Held until connected: connect it to SMS and Voice.
    expect(admin.locator(".messagelist")).to_contain_text("held until you connect it")
    admin.check("#id_sms")
    admin.check("#id_voice")
    admin.screenshot(path=SHOTS / "2-connect.png", full_page=True)
    admin.get_by_test_id("connect-submit").click()
    expect(admin.locator(".messagelist")).to_contain_text("is connected to SMS and Voice")
    row = admin.locator("#result_list tr", has_text="+1 415-555-0100")
    expect(row).to_contain_text("Connected")
    admin.screenshot(path=SHOTS / "3-numbers.png", full_page=True)

    # The agent is available in SMS and Voice.
    agent = sign_in(browser, base, "ada@demo.test", "demo-agent-password", "/inbox/")
    agent.get_by_test_id("available-sms").click()
    expect(agent.get_by_test_id("available-sms")).to_have_attribute("aria-pressed", "true")

    # The customer texts from the simulator.
    simulator = admin
    simulator.goto(f"{base}/sandbox/twilio/phone/")
    simulator.fill("#sms-text", "Hi! Has my order shipped?")
    simulator.click("#sms-send")
    expect(simulator.locator(".bubble.customer", has_text="Has my order shipped?")).to_be_visible()

    # The agent sees it, types (the counter shows segments and encoding), replies; delivered.
    row = agent.locator(".conv-row", has_text="Has my order shipped?")
    expect(row).to_be_visible()
    row.click()
    composer = agent.get_by_test_id("composer-text")
    composer.fill("It ships today, tracking follows 📦")
    expect(agent.get_by_test_id("sms-segments")).to_contain_text("1 segment · UCS-2")
    agent.screenshot(path=SHOTS / "4-sms-conversation-segments.png")
    composer.press("Enter")
    reply = agent.locator(".msg.kind-agent_message", has_text="It ships today")
    expect(reply.locator(".delivery")).to_contain_text("Delivered")

    # The simulator shows the reply, delivered.
    expect(simulator.locator(".bubble.business", has_text="It ships today")).to_be_visible()
    simulator.screenshot(path=SHOTS / "5-simulator-sms.png", full_page=True)

    # The customer calls; nobody answers (Ada is not available in Voice): voicemail, played in the timeline.
    simulator.get_by_test_id("sim-call").click()
    expect(simulator.locator(".sim-log").first).to_contain_text("voicemail")
    voicemail = agent.locator(".conv-row", has_text="Voicemail")
    expect(voicemail).to_be_visible()
    voicemail.click()
    audio = agent.locator(".msg audio")
    expect(audio).to_be_visible()
    assert audio.get_attribute("src").startswith("/media/")
    agent.screenshot(path=SHOTS / "6-voicemail.png")

    # Release asks first and says what stops.
    admin.goto(f"{base}/settings/channels_app/phonenumber/")
    admin.locator("#result_list tr", has_text="+1 415-555-0100").locator("text=Release").click()
    expect(admin.get_by_test_id("release-number")).to_contain_text("Customers texting +1 415-555-0100 reach nobody")
    admin.screenshot(path=SHOTS / "7-release.png", full_page=True)
    assert re.search(r"/release/$", admin.url)
