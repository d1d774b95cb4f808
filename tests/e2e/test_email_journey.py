"""The Email journey in Chromium, against the app's real SMTP receiver and a real Celery worker.

Admin adds an address in Settings and sends a test ("Forwarding works"); a customer
writes over SMTP with an attachment; the agent sees the conversation with its
subject and replies; the reply is in the outbox, threaded after the customer's
message; the customer answers it in the thread and the answer lands in the same
conversation. An out-of-office auto-reply is stored but no Rule answers it (a Rule
that auto-replies to the same words does answer a person, which shows it is live).
"""

import email
import email.policy
import re
import smtplib
import socket
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from channels_app.mail.models import EmailAddress, InboundEmail
from channels_app.models import Channel
from conversations.models import Conversation, Rule, RuleFiring, TimelineItem
from inbox.demo import seed_demo
from inbox.models import User
from tests.conftest import purge_queues, start_worker, stop_process, wait_for

from .test_sandbox_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "email"
ADDRESS = "help@shop.test"
CUSTOMER = ("Nora Lind", "nora.lind@example.org")
RETURN_LABEL = b"%PDF-1.4\n% a return label\n%%EOF\n"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def email_app(services, live_server, settings, tmp_path):
    """The live app, its SMTP receiver on a free port, an outbox directory, and a worker; all for this test."""
    from channels_app.mail.receiver import make_controller

    outbox = tmp_path / "outbox"
    outbox.mkdir()
    port = free_port()
    # The live server runs in this process (settings); the worker gets the same values as TEST_* variables
    # (config/test_settings.py).
    values = {
        "SITE_URL": live_server.url,
        "MAIL_RECEIVER_HOST": "127.0.0.1",
        "MAIL_RECEIVER_PORT": str(port),
        "EMAIL_FILE_PATH": str(outbox),
    }
    for key, value in values.items():
        setattr(settings, key, int(value) if key == "MAIL_RECEIVER_PORT" else value)
    for kind in Channel.Kind.values:
        Channel.objects.get_or_create(kind=kind)
    seed_demo()
    Rule.objects.create(
        name="Holiday hours",
        channel=Channel.objects.get(kind=Channel.Kind.EMAIL),
        words="holiday",
        auto_reply_text="Over the holidays we answer within two days.",
    )
    purge_queues()
    worker = start_worker(
        tmp_path / "worker.log", {f"TEST_{key}": value for key, value in values.items()}, pool="threads", concurrency=4
    )
    receiver = make_controller("127.0.0.1", port)
    receiver.start()  # returns once it answers
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield {"base": live_server.url, "receiver": receiver, "outbox": outbox}
    receiver.stop()
    stop_process(worker)


def send_mail(receiver, message: EmailMessage, recipient: str) -> None:
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=10) as client:
        client.send_message(message, to_addrs=[recipient])


def customer_message(subject, text, message_id, sender=CUSTOMER, **headers) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f'"{sender[0]}" <{sender[1]}>'
    message["To"] = f"Shop Help <{ADDRESS}>"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


def outbox_messages(outbox: Path) -> list[email.message.EmailMessage]:
    """Every message the file backend wrote (one file per connection, messages separated by a line of dashes)."""
    messages = []
    for path in sorted(outbox.iterdir(), key=lambda path: path.stat().st_mtime_ns):
        for chunk in re.split(rb"\n-{79}\n", path.read_bytes()):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk.lstrip(), policy=email.policy.default))
    return messages


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def outbox_message(outbox: Path, predicate, what: str):
    return wait_for(
        lambda: next((message for message in outbox_messages(outbox) if predicate(message)), None),
        timeout=30,
        message=what,
    )


def test_add_address_test_forwarding_customer_writes_agent_replies_customer_answers_in_thread(email_app, browser):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    base, receiver, outbox = email_app["base"], email_app["receiver"], email_app["outbox"]

    # Admin: Settings › Email addresses › Add, then Send a test.
    admin_user = User.objects.get(email="admin@demo.test")
    admin = sign_in(
        browser, base, "admin@demo.test", "demo-admin-password", "/settings/mail/emailaddress/add/", admin_user
    )
    admin.fill("#id_address", ADDRESS)
    admin.fill("#id_display_name", "Shop Help")
    admin.fill("#id_signature", "Shop · Customer care")
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist")).to_contain_text("Forward its mail to the address below")
    address = EmailAddress.objects.get(address=ADDRESS)
    expect(admin.locator("#forwarding-address")).to_have_text(address.forwarding_address)
    admin.get_by_test_id("send-test").click()
    expect(admin.get_by_test_id("forwarding-test")).to_contain_text("Forwarding works")
    admin.screenshot(path=SHOTS / "1-address-forwarding-works.png", full_page=True)
    test_mail = InboundEmail.objects.get(email_address=address)
    wait_for(
        lambda: InboundEmail.objects.filter(pk=test_mail.pk, status=InboundEmail.Status.IGNORED).exists(),
        message="the worker to recognise the forwarding test",
    )
    assert not Conversation.objects.filter(entry_point=address.entry_point).exists()

    # The customer writes (forwarded to us: envelope to the forwarding address), with an attachment.
    first_id = make_msgid(domain="example.org")
    first = customer_message(
        "Damaged parcel, order 5531", "Hello, the box arrived crushed. Receipt attached.", first_id
    )
    first.add_attachment(PDF, "application", "pdf", filename="receipt.pdf")
    send_mail(receiver, first, address.forwarding_address)

    # The agent (Ben is in the Email Channel's default Inbox) sees it with its subject and the attachment.
    agent = sign_in(browser, base, "ben@demo.test", "demo-agent-password", "/inbox/")
    row = agent.locator(".conv-row", has_text=CUSTOMER[0])
    expect(row).to_be_visible()
    row.click()
    expect(agent.get_by_test_id("email-subject").first).to_have_text("Damaged parcel, order 5531")
    expect(agent.locator(".msg", has_text="the box arrived crushed")).to_be_visible()
    attachment = agent.locator(".email-attachments a", has_text="receipt.pdf")
    expect(attachment).to_be_visible()
    downloaded = agent.request.get(base + attachment.get_attribute("href"))
    assert downloaded.ok and downloaded.body() == PDF
    agent.screenshot(path=SHOTS / "2-agent-sees-email.png")

    # The agent replies; the reply goes out as an email in the customer's thread.
    # With a file: the label for the replacement parcel, sent as an attachment of the same email.
    agent.get_by_test_id("attach-input").set_input_files(
        files=[{"name": "return-label.pdf", "mimeType": "application/pdf", "buffer": RETURN_LABEL}]
    )
    agent.get_by_test_id("composer-text").fill("Sorry about that! A replacement ships tomorrow.")
    agent.get_by_test_id("send-reply").click()
    reply_item = agent.locator(".msg.kind-agent_message", has_text="A replacement ships tomorrow")
    expect(reply_item.locator(".delivery")).to_contain_text(re.compile("Sent|Delivered"))
    reply = outbox_message(outbox, lambda message: "replacement ships" in text_of(message), "the reply")
    assert reply["In-Reply-To"] == first_id
    assert first_id in reply["References"]
    assert reply["Subject"] == "Re: Damaged parcel, order 5531"
    assert reply["To"] == CUSTOMER[1]
    assert "Ben Agent via Shop Help" in reply["From"] and ADDRESS in reply["From"]
    assert "Shop · Customer care" in text_of(reply)
    [label] = [part for part in reply.iter_attachments() if part.get_filename() == "return-label.pdf"]
    assert label.get_content() == RETURN_LABEL
    conversation = Conversation.objects.get(entry_point=address.entry_point)

    # The customer answers our reply in the thread; it lands in the same conversation.
    answer = customer_message(
        reply["Subject"],
        "Thank you, that was quick!\n\n> Sorry about that! A replacement ships tomorrow.",
        make_msgid(domain="example.org"),
        In_Reply_To=reply["Message-ID"],
        References=f"{reply['References']} {reply['Message-ID']}",
    )
    send_mail(receiver, answer, ADDRESS)
    expect(agent.locator(".msg.in", has_text="that was quick")).to_be_visible()
    expect(agent.locator(".msg.in", has_text="the box arrived crushed")).to_be_visible()
    expect(agent.locator(".msg.kind-agent_message", has_text="A replacement ships tomorrow")).to_be_visible()
    assert list(Conversation.objects.filter(entry_point=address.entry_point)) == [conversation]
    assert conversation.items.filter(direction=TimelineItem.Direction.INBOUND).count() == 2
    agent.screenshot(path=SHOTS / "3-thread-in-one-conversation.png")

    # The Rule answers a person who writes about the holiday (so it is live)...
    other_id = make_msgid(domain="example.com")
    other = customer_message(
        "Opening hours", "Are you open over the holiday?", other_id, sender=("Omar Haddad", "omar@example.com")
    )
    send_mail(receiver, other, ADDRESS)
    auto_reply = outbox_message(
        outbox, lambda message: message["In-Reply-To"] == other_id, "the Rule's auto-reply to a person"
    )
    assert auto_reply["Auto-Submitted"] == "auto-replied"
    assert "answer within two days" in text_of(auto_reply)

    # ...but not the customer's out-of-office auto-reply to our reply: stored, never answered.
    out_of_office_id = make_msgid(domain="example.org")
    out_of_office = customer_message(
        "Automatic reply: Re: Damaged parcel, order 5531",
        "I am out of the office on holiday until Monday.",
        out_of_office_id,
        In_Reply_To=reply["Message-ID"],
        Auto_Submitted="auto-replied",
    )
    sent_before = len(outbox_messages(outbox))
    send_mail(receiver, out_of_office, ADDRESS)
    stored = wait_for(
        lambda: InboundEmail.objects.filter(message_id=out_of_office_id, status=InboundEmail.Status.PROCESSED).first(),
        message="the out-of-office reply to be processed",
    )
    item = conversation.items.get(external_id=out_of_office_id)
    assert item.metadata["automated"] is True
    expect(agent.locator(".msg.in", has_text="out of the office on holiday")).to_be_visible()
    assert not RuleFiring.objects.filter(item=item).exists()
    assert not conversation.items.filter(kind=TimelineItem.Kind.AUTO_REPLY).exists()
    time.sleep(2)  # a reply would have been queued in the same transaction; give the drainer time anyway
    assert len(outbox_messages(outbox)) == sent_before, f"something answered {stored}"
