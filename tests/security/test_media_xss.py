"""Stored XSS through customer media: the type comes from the bytes, never the URL or Content-Type."""

import pytest
import responses
from django.core.files.base import ContentFile
from django.urls import reverse

from channels_app.meta.inbound import fetch_profile
from channels_app.meta.media import download_attachment
from conversations import media_types
from conversations.models import Attachment, Customer, CustomerIdentity
from tests import factories
from tests.meta_payloads import CUSTOMER_IGSID

from .helpers import HTML, PNG, SVG, resolve_to

pytestmark = pytest.mark.django_db

CDN = "https://cdn.fbsbx.com/v/t59/"


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    resolve_to(monkeypatch, "157.240.1.35")


@pytest.fixture
def agent():
    return factories.make_user()


@pytest.fixture
def conversation(agent):
    inbox = factories.make_inbox(name="Support", members=[agent])
    entry_point = factories.make_entry_point()
    factories.make_instagram_account(entry_point)
    return factories.make_conversation(inbox=inbox, entry_point=entry_point)


def pending_attachment(conversation, url):
    item = factories.make_item(conversation)
    return Attachment.objects.create(item=item, kind="file", original_url=url)


def stored_attachment(conversation, name, content):
    attachment = pending_attachment(conversation, CDN + name)
    attachment.file.save(name, ContentFile(content))
    return attachment


@pytest.mark.parametrize(
    ("content", "mime", "extension", "inline"),
    [
        (PNG, "image/png", "png", True),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg", "jpg", True),
        (b"\x00\x00\x00\x18ftypmp42".ljust(32, b"\x00"), "video/mp4", "mp4", True),
        (b"%PDF-1.4\n", "application/pdf", "pdf", False),
        (HTML, "application/octet-stream", "bin", False),
        (SVG, "application/octet-stream", "bin", False),
    ],
)
def test_detect_decides_from_the_bytes(content, mime, extension, inline):
    detected = media_types.detect(content)

    assert (detected.mime, detected.extension, detected.inline) == (mime, extension, inline)


@responses.activate
def test_an_html_attachment_is_not_stored_as_html(conversation):
    attachment = pending_attachment(conversation, CDN + "invoice.html")
    responses.get(attachment.original_url, body=HTML, content_type="text/html")

    assert download_attachment(attachment.pk) is True

    attachment.refresh_from_db()
    assert attachment.file.name.endswith(".bin")
    assert attachment.content_type == "application/octet-stream"


@responses.activate
def test_an_svg_attachment_is_not_stored_as_svg(conversation):
    attachment = pending_attachment(conversation, CDN + "logo.svg")
    responses.get(attachment.original_url, body=SVG, content_type="image/svg+xml")

    download_attachment(attachment.pk)

    attachment.refresh_from_db()
    assert attachment.file.name.endswith(".bin")
    assert attachment.content_type == "application/octet-stream"


@responses.activate
def test_an_image_is_stored_with_the_type_its_bytes_prove(conversation):
    attachment = pending_attachment(conversation, CDN + "photo.html")
    responses.get(attachment.original_url, body=PNG, content_type="text/html")

    download_attachment(attachment.pk)

    attachment.refresh_from_db()
    assert attachment.file.name.endswith(".png")
    assert attachment.content_type == "image/png"


@responses.activate
def test_a_profile_picture_is_stored_by_its_bytes():
    entry_point = factories.make_entry_point()
    factories.make_instagram_account(entry_point)
    customer = factories.make_customer(entry_point, external_id=CUSTOMER_IGSID)
    responses.get(
        f"https://graph.facebook.com/v23.0/{CUSTOMER_IGSID}",
        json={"name": "Maya", "username": "maya", "profile_pic": "https://scontent.cdninstagram.com/p.html"},
    )
    responses.get("https://scontent.cdninstagram.com/p.html", body=HTML, content_type="text/html")

    fetch_profile(CustomerIdentity.objects.get(customer=customer).pk)

    customer = Customer.objects.get(pk=customer.pk)
    assert customer.profile_picture.name.endswith(".bin")


def test_stored_html_is_a_download_not_a_page(client, agent, conversation):
    attachment = stored_attachment(conversation, "invoice.html", HTML)
    client.force_login(agent)

    response = client.get(reverse("media", kwargs={"path": attachment.file.name}))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


def test_html_with_an_image_name_is_still_a_download(client, agent, conversation):
    attachment = stored_attachment(conversation, "photo.png", HTML)
    client.force_login(agent)

    response = client.get(reverse("media", kwargs={"path": attachment.file.name}))

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


def test_svg_is_a_download(client, agent, conversation):
    attachment = stored_attachment(conversation, "logo.svg", SVG)
    client.force_login(agent)

    response = client.get(reverse("media", kwargs={"path": attachment.file.name}))

    assert response["Content-Disposition"].startswith("attachment;")
    assert "svg" not in response["Content-Type"]


def test_a_png_is_shown_inline_with_a_sandboxing_policy(client, agent, conversation):
    attachment = stored_attachment(conversation, "photo.png", PNG)
    client.force_login(agent)

    response = client.get(reverse("media", kwargs={"path": attachment.file.name}))

    assert response["Content-Type"] == "image/png"
    assert "attachment" not in response.get("Content-Disposition", "")
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = response["Content-Security-Policy"]
    assert policy.startswith("sandbox;")
    assert "default-src 'none'" in policy
