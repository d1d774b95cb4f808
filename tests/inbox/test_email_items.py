"""Email in the agent's timeline: subject, sanitised HTML, quoted history folded, Cc, attachments, images held."""

from pathlib import Path

import pytest
from django.urls import reverse

from channels_app.mail import inbound
from channels_app.mail.models import InboundEmail
from channels_app.models import Channel
from conversations.models import Conversation
from tests import factories
from tests.mail.helpers import make_email_address

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def not_enqueued(monkeypatch):
    monkeypatch.setattr(inbound, "enqueue_processing", lambda inbound_email_id: True)


@pytest.fixture
def agent_client(client):
    agent = factories.make_user()
    factories.make_inbox(kind=Channel.Kind.EMAIL, default=True, members=[agent])
    client.force_login(agent)
    return client


def received(raw: bytes) -> Conversation:
    stored = inbound.store_inbound_email(raw, InboundEmail.Via.SMTP, make_email_address())
    inbound.process_inbound_email(stored.pk)
    return Conversation.objects.get()


def page_of(client, conversation):
    response = client.get(reverse("inbox:conversation", args=[conversation.pk]))
    assert response.status_code == 200
    return response


def test_the_subject_and_the_sanitised_html_are_shown(agent_client):
    conversation = received((FIXTURES / "attachment_and_inline_image.eml").read_bytes())

    page = page_of(agent_client, conversation).content.decode()

    assert 'data-testid="email-subject">Screenshot of the error — please help</div>' in page
    assert "<p>The checkout shows this error:</p>" in page


def test_inline_images_point_at_the_stored_copy_and_are_not_listed_again(agent_client):
    conversation = received((FIXTURES / "attachment_and_inline_image.eml").read_bytes())
    inline = conversation.items.get().attachments.get(content_id__contains="screenshot")

    page = page_of(agent_client, conversation).content.decode()

    assert f'<img src="/media/{inline.file.name}" alt="screenshot">' in page
    assert "cid:" not in page


def test_remote_images_wait_for_the_agent_s_click(agent_client):
    conversation = received((FIXTURES / "attachment_and_inline_image.eml").read_bytes())

    page = page_of(agent_client, conversation).content.decode()

    assert '<img data-remote-src="https://cdn.example.org/logo.png" alt="logo">' in page
    assert ' src="https://' not in page
    assert "tracker.example.net" not in page  # the 1×1 pixel is gone altogether
    assert "data-load-remote-images" in page


def test_other_attachments_are_download_links_with_their_names(agent_client):
    conversation = received((FIXTURES / "attachment_and_inline_image.eml").read_bytes())
    listed = conversation.items.get().attachments.exclude(content_id__contains="screenshot").get()

    page = page_of(agent_client, conversation).content.decode()

    assert f'<a class="file-link" href="/media/{listed.file.name}" download>{listed.filename}</a>' in page


def test_quoted_history_is_folded_away(agent_client):
    conversation = received((FIXTURES / "gmail_reply.eml").read_bytes())
    quoted = conversation.items.get().metadata["quoted_text"]

    page = page_of(agent_client, conversation).content.decode()

    assert "<summary>Show quoted text</summary>" in page
    visible, folded = page.split("<summary>Show quoted text</summary>")
    assert "Thanks, the tracking number works now." in visible
    assert "wrote:" not in visible.split('class="email-html"')[1]
    assert quoted.splitlines()[0].split("<")[0].strip() in folded


def test_cc_d_people_are_shown(agent_client):
    raw = (
        b"From: Ann <ann@example.com>\r\nTo: support@acme.com\r\nCc: Bob <bob@example.com>, carol@example.com\r\n"
        b"Subject: Order\r\nMessage-ID: <cc-1@example.com>\r\n\r\nPlease help\r\n"
    )

    page = page_of(agent_client, received(raw)).content.decode()

    assert "Cc: bob@example.com, carol@example.com" in page


def test_a_script_in_the_mail_never_reaches_the_page(agent_client):
    raw = (
        b"From: Eve <eve@example.com>\r\nTo: support@acme.com\r\nSubject: Hi\r\nMessage-ID: <js-1@example.com>\r\n"
        b'Content-Type: text/html\r\n\r\n<p onclick="alert(1)">Hi<script>alert(2)</script></p>'
        b'<a href="javascript:alert(3)">x</a>\r\n'
    )

    page = page_of(agent_client, received(raw)).content.decode()

    assert "alert(" not in page


def test_the_inbox_pages_may_load_remote_images_over_https_and_settings_may_not(agent_client, admin_client):
    inbox_policy = agent_client.get(reverse("inbox:home"))["Content-Security-Policy"]
    settings_policy = admin_client.get(reverse("admin:index"))["Content-Security-Policy"]

    assert "https:" in next(part for part in inbox_policy.split(";") if "img-src" in part)
    assert "https:" not in next(part for part in settings_policy.split(";") if "img-src" in part).replace(
        "https://", ""
    )
    assert "script-src 'self'" in inbox_policy


def test_emails_offer_no_like(agent_client):
    conversation = received((FIXTURES / "gmail_reply.eml").read_bytes())

    page = page_of(agent_client, conversation).content.decode()

    assert "like-button" not in page
