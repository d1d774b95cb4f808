"""A visitor on another website chats with an agent: both ways, typing, push without polling, restart.

The app runs under uvicorn (ASGI, in a thread of this process) with the database
channel layer `make run` uses; the company's page is served by a plain
http.server on another port, so the widget really is cross-origin.
"""

import functools
import http.server
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from channels.layers import channel_layers
from django.urls import reverse

from channels_app.chat.models import ChatWidget
from channels_app.models import Channel, EntryPoint
from conversations import outbound
from conversations.models import Conversation, TimelineItem
from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-123"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppServer:
    """The ASGI app under uvicorn in a thread; stop() and start() again is a server restart."""

    def __init__(self, port):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = None
        self.thread = None

    def start(self):
        from config.asgi import application

        # A restarted process starts with a fresh channel layer.
        channel_layers.backends.clear()
        config = uvicorn.Config(
            application, host="127.0.0.1", port=self.port, log_level="warning", ws="websockets-sansio"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def app_server(settings, monkeypatch):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "conversations.live.layers.DatabaseChannelLayer"}}
    settings.DEBUG = False

    # No Celery worker here: the drainer runs in a thread, as a worker would run it
    # (retrying like the task would: the test database is SQLite in shared-cache
    # memory, where a busy table fails at once instead of waiting).
    def kick(entry_point_id, countdown=0):
        from django.db import OperationalError, connection

        def drain():
            try:
                for _ in range(50):
                    try:
                        outbound.drain_entry_point(entry_point_id)
                        return
                    except OperationalError:
                        time.sleep(0.1)
            finally:
                connection.close()

        threading.Thread(target=drain, daemon=True).start()

    monkeypatch.setattr(outbound, "_kick", kick)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    server = AppServer(free_port())
    server.start()
    yield server
    server.stop()
    channel_layers.backends.clear()


@pytest.fixture
def company_site(tmp_path):
    """Another origin: a static page with the snippet, filled in by the test."""
    port = free_port()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{port}"
    httpd.shutdown()


def sign_in(context, base_url, email):
    page = context.new_page()
    page.set_default_timeout(8000)
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/inbox/.*"))
    return page


def acme_chat(app_server, company_site, agent, **widget_fields):
    """Acme's website with the chat widget embedded, routed to a Chat inbox where `agent` is Available."""
    site_dir, site_url = company_site
    factories.make_inbox(name="Chat", kind=Channel.Kind.CHAT, default=True, members=[agent])
    factories.make_available(agent, Channel.Kind.CHAT)
    entry_point = factories.make_entry_point(
        kind=EntryPoint.Kind.CHAT_WIDGET, channel_kind=Channel.Kind.CHAT, display_name="Acme chat"
    )
    widget = ChatWidget.objects.create(
        entry_point=entry_point, name="Acme Support", allowed_origins=[site_url], **widget_fields
    )
    (site_dir / "index.html").write_text(
        "<!doctype html><title>Acme</title><h1>Acme shoes</h1>"
        f'<script src="{app_server.url}/chat/widget.js" data-entry-point="{widget.public_id}" async></script>'
    )
    return widget


def test_visitor_and_agent_chat_live_across_origins_and_a_restart(browser, app_server, company_site):
    from playwright.sync_api import expect

    _, site_url = company_site
    agent = factories.make_user(email="ben@example.test", password=PASSWORD)
    entry_point = acme_chat(app_server, company_site, agent, greeting="Hi! Ask us anything.").entry_point

    # The agent's inbox, live over its socket; from now on no poll may be made.
    agent_context = browser.new_context()
    inbox = sign_in(agent_context, app_server.url, agent.email)
    expect(inbox.locator("html")).to_have_attribute("data-live", "up")
    changes_requests = []
    inbox.on(
        "request", lambda request: changes_requests.append(request.url) if "/inbox/changes/" in request.url else None
    )

    # The visitor on the company's website.
    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(8000)
    visitor.goto(site_url)
    launcher = visitor.get_by_role("button", name="Open chat")
    launcher.click()
    expect(visitor.get_by_role("dialog", name="Acme Support")).to_be_visible()
    expect(visitor.locator(".msg.greeting")).to_have_text("Hi! Ask us anything.")
    message_box = visitor.get_by_role("textbox", name="Message")
    expect(message_box).to_be_focused()
    message_box.fill("<img src=x onerror=alert(1)> Do you ship to Spain?")
    message_box.press("Enter")
    expect(visitor.locator(".meta.mine").last).to_have_text("Sent")

    conversation = Conversation.objects.get(entry_point=entry_point)
    row = inbox.locator(f".conv-row[data-conversation='{conversation.pk}']")
    expect(row).to_contain_text("Do you ship to Spain?")
    time.sleep(1.5)  # idle: a poll would show up here
    assert changes_requests, "the push should have fetched the new conversation"
    assert all("trigger=push" in url for url in changes_requests), changes_requests

    # The agent opens it: the visitor's text is text, and the visitor sees it was seen.
    row.click()
    expect(inbox.locator(".msg.kind-customer_message").last).to_contain_text("<img src=x onerror=alert(1)>")
    expect(visitor.locator(".meta.mine").last).to_have_text("Seen")
    expect(inbox.locator(".customer-card")).to_contain_text(site_url)

    # Typing both ways.
    message_box.fill("I also wonder")
    expect(inbox.get_by_test_id("customer-typing")).to_contain_text("is typing…")
    inbox.get_by_test_id("composer-text").fill("Yes, we do")
    expect(visitor.locator(".typing")).to_have_text("Acme Support is typing…")

    # The agent's reply, live in the widget.
    inbox.get_by_test_id("composer-text").fill("Yes, we ship to Spain in 3–5 days.")
    inbox.get_by_test_id("composer-text").press("Enter")
    expect(visitor.locator(".msg.agent")).to_have_text("Yes, we ship to Spain in 3–5 days.")
    reply = TimelineItem.objects.get(conversation=conversation, kind=TimelineItem.Kind.AGENT_MESSAGE)
    expect(inbox.get_by_test_id(f"delivery-{reply.pk}")).to_contain_text(re.compile("Sent|Read"))

    # The server restarts; what the visitor writes meanwhile arrives once, and the inbox catches up.
    app_server.stop()
    expect(inbox.get_by_test_id("live-status")).to_be_visible()
    expect(inbox.get_by_test_id("live-status")).to_have_text("Live updates are degraded (reconnecting…)")
    message_box.fill("Are you still there?")
    message_box.press("Enter")
    expect(visitor.locator(".meta.mine").last).to_have_text("Sending…")
    app_server.start()
    expect(visitor.locator(".meta.mine").last).to_have_text(re.compile("Sent|Seen"), timeout=20000)
    expect(inbox.get_by_test_id("live-status")).to_be_hidden(timeout=20000)
    expect(inbox.locator(".msg.kind-customer_message", has_text="Are you still there?")).to_have_count(1)
    expect(visitor.locator(".msg.visitor", has_text="Are you still there?")).to_have_count(1)
    assert TimelineItem.objects.filter(text="Are you still there?").count() == 1

    # A returning visitor (reload) sees the whole history.
    visitor.reload()
    visitor.get_by_role("button", name="Open chat").click()
    expect(visitor.locator(".msg.visitor")).to_have_count(2)
    expect(visitor.locator(".msg.agent")).to_have_text("Yes, we ship to Spain in 3–5 days.")


SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "chat"


def test_the_agents_image_and_file_reach_the_visitors_widget(browser, app_server, company_site):
    from playwright.sync_api import expect

    from sandbox.png import picture

    _, site_url = company_site
    SHOTS.mkdir(parents=True, exist_ok=True)
    agent = factories.make_user(email="ada@example.test", password=PASSWORD, first_name="Ada")
    widget = acme_chat(app_server, company_site, agent)
    entry_point = widget.entry_point
    image = picture("blue-sneakers", size=160)
    size_chart = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"

    visitor = browser.new_context(accept_downloads=True).new_page()
    visitor.set_default_timeout(8000)
    visitor.goto(site_url)
    visitor.get_by_role("button", name="Open chat").click()
    message_box = visitor.get_by_role("textbox", name="Message")
    message_box.fill("Do the sneakers come in blue?")
    message_box.press("Enter")
    expect(visitor.locator(".meta.mine").last).to_have_text("Sent")
    conversation = Conversation.objects.get(entry_point=entry_point)

    # The agent attaches a picture and the size chart to the reply.
    inbox = sign_in(browser.new_context(), app_server.url, agent.email)
    inbox.goto(app_server.url + reverse("inbox:conversation", args=[conversation.pk]))
    expect(inbox.get_by_test_id("attachment-limits")).to_contain_text("Chat: any file up to 10 MB")
    inbox.get_by_test_id("attach-input").set_input_files(
        files=[
            {"name": "blue-sneakers.png", "mimeType": "image/png", "buffer": image},
            {"name": "size-chart.pdf", "mimeType": "application/pdf", "buffer": size_chart},
        ]
    )
    inbox.get_by_test_id("composer-text").fill("Here they are in blue, with the size chart.")
    inbox.locator(".composer").screenshot(path=SHOTS / "1-composer-with-files.png")
    inbox.get_by_test_id("send-reply").click()
    reply = inbox.locator(".msg.kind-agent_message", has_text="Here they are in blue")
    expect(reply.locator(".delivery")).to_contain_text(re.compile("Sent|Read"))

    # The visitor sees the picture in the chat, and the chart as a download.
    bubble = visitor.locator(".msg.agent", has_text="Here they are in blue")
    shown = bubble.locator("img.shot")
    expect(shown).to_have_attribute("alt", "blue-sneakers.png")
    expect(shown).to_have_attribute("src", re.compile(r"^blob:"))
    visitor.wait_for_function(
        "() => document.querySelector('[data-support-chat]').shadowRoot.querySelector('img.shot').naturalWidth === 160"
    )
    visitor.screenshot(path=SHOTS / "2-widget-shows-the-image.png")
    # Shown, the picture's blob: URL is released: a long history does not keep every picture's bytes.
    released = visitor.evaluate(
        "() => fetch(document.querySelector('[data-support-chat]').shadowRoot.querySelector('img.shot').src)"
        ".then(() => 'still there', () => 'released')"
    )
    assert released == "released"
    with visitor.expect_download() as download:
        bubble.get_by_role("button", name="Download size-chart.pdf").click()
    assert download.value.suggested_filename == "size-chart.pdf"
    assert Path(download.value.path()).read_bytes() == size_chart

    # Without the visitor's token the file is not there for anyone.
    attachment_id = conversation.items.get(text="Here they are in blue, with the size chart.").attachments.first().pk
    response = visitor.request.get(f"{app_server.url}/chat/{widget.public_id}/files/{attachment_id}/")
    assert response.status == 403


def test_a_visitor_who_left_an_address_emails_themselves_the_chat(browser, app_server, company_site, monkeypatch):
    from django.core import mail
    from playwright.sync_api import expect

    from channels_app.chat import consumers, tasks

    # No Celery worker here: the task runs in a thread, as a worker would run it.
    def send_task(name, args):
        assert name == "channels_app.chat.tasks.send_asked_transcript"
        threading.Thread(target=lambda: tasks.send_asked_transcript.apply(args=args), daemon=True).start()

    monkeypatch.setattr(consumers.current_app, "send_task", send_task)
    _, site_url = company_site
    agent = factories.make_user(email="ada@example.test", password=PASSWORD, first_name="Ada")
    acme_chat(app_server, company_site, agent, ask_for_contact=True)

    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(8000)
    visitor.goto(site_url)
    visitor.get_by_role("button", name="Open chat").click()
    email_me = visitor.get_by_role("button", name="Email me this chat")
    expect(email_me).to_be_hidden()  # no address yet
    visitor.get_by_role("textbox", name="Your name").fill("Maya")
    visitor.get_by_role("textbox", name="Your email").fill("maya@example.com")
    visitor.get_by_role("button", name="Save").click()
    message_box = visitor.get_by_role("textbox", name="Message")
    message_box.fill("Do you ship to Spain?")
    message_box.press("Enter")
    expect(visitor.locator(".meta.mine").last).to_have_text("Sent")

    email_me.click()
    expect(visitor.locator(".transcript")).to_contain_text("On its way to maya@example.com.")
    SHOTS.mkdir(parents=True, exist_ok=True)
    visitor.screenshot(path=SHOTS / "3-email-me-this-chat.png")
    deadline = time.monotonic() + 15
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.1)
    [email] = mail.outbox
    assert email.to == ["maya@example.com"] and "Do you ship to Spain?" in email.body
    assert "(times in " in email.body  # the browser's own time zone

    email_me.click()  # again at once: told when it can be asked again, nothing more is sent
    expect(visitor.locator(".error")).to_contain_text("You can ask again in 10 minutes")
    assert len(mail.outbox) == 1
