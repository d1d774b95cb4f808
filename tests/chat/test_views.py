"""The widget's script, image uploads, Settings › Chat and the sandbox's company site."""

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from channels_app.chat import visitors
from channels_app.chat.models import ChatVisitor, ChatWidget
from channels_app.models import Channel, EntryPoint
from conversations.models import Attachment, TimelineItem
from tests import factories

from .helpers import ORIGIN, make_widget

pytestmark = pytest.mark.django_db

# The smallest valid PNG (1×1).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def upload(client, widget, content, *, name="photo.png", origin=ORIGIN, token=None):
    visitor = ChatVisitor.objects.create(widget=widget) if token is None else None
    return client.post(
        reverse("chat:upload", args=[widget.public_id]),
        {"file": SimpleUploadedFile(name, content)},
        HTTP_ORIGIN=origin,
        HTTP_X_CHAT_TOKEN=token if token is not None else visitors.issue_token(visitor),
        HTTP_X_CHAT_CLIENT_ID="up1",
    )


def test_widget_script_redirects_to_a_versioned_url_cached_for_a_year(client):
    response = client.get("/chat/widget.js")
    assert response.status_code == 302
    assert response["Cache-Control"] == "public, max-age=300"

    script = client.get(response["Location"])
    assert script.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    assert "immutable" in script["Cache-Control"] and "max-age=31536000" in script["Cache-Control"]
    assert b"attachShadow" in script.content


def test_an_image_upload_becomes_the_visitors_message(client):
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True)
    widget = make_widget()

    response = upload(client, widget, PNG)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    item = TimelineItem.objects.get(kind=TimelineItem.Kind.CUSTOMER_MESSAGE)
    attachment = Attachment.objects.get(item=item)
    assert attachment.content_type == "image/png" and attachment.status == Attachment.Status.STORED


def test_an_upload_that_is_not_an_image_is_refused_with_a_clear_message(client):
    widget = make_widget()

    response = upload(client, widget, b"<svg onload=alert(1)></svg>", name="cat.png")

    assert response.status_code == 400
    assert response.json()["error"] == "Only images (PNG, JPEG, GIF or WebP) can be attached."
    assert not TimelineItem.objects.exists()


def test_an_upload_over_the_size_limit_is_refused(client, settings):
    settings.CHAT_ATTACHMENT_MAX_BYTES = 50
    widget = make_widget()

    response = upload(client, widget, PNG + b"\0" * 100)

    assert response.status_code == 400
    assert "too big" in response.json()["error"]


def test_an_upload_from_another_website_or_without_token_is_refused(client):
    widget = make_widget()

    assert upload(client, widget, PNG, origin="https://evil.example").status_code == 403
    assert upload(client, widget, PNG, token="forged").status_code == 403
    assert not TimelineItem.objects.exists()


def test_admin_adds_a_chat_widget_and_gets_the_snippet(admin_client):
    factories.channel(Channel.Kind.CHAT)

    response = admin_client.post(
        reverse("admin:chat_chatwidget_add"),
        {
            "name": "Acme chat",
            "allowed_origins": "https://www.acme.com/\nhttp://localhost:3000",
            "colour": "#0f766e",
            "greeting": "Hi!",
            "offline_message": "Away",
        },
    )

    assert response.status_code == 302
    widget = ChatWidget.objects.get()
    assert widget.allowed_origins == ["http://localhost:3000", "https://www.acme.com"]
    assert widget.entry_point.kind == EntryPoint.Kind.CHAT_WIDGET
    assert widget.entry_point.channel.kind == Channel.Kind.CHAT
    page = admin_client.get(reverse("admin:chat_chatwidget_change", args=[widget.pk]))
    assert f'data-entry-point="{widget.public_id}"' in page.content.decode().replace("&quot;", '"')
    assert b"/chat/widget.js" in page.content


def test_admin_cannot_save_an_origin_that_is_not_one(admin_client):
    factories.channel(Channel.Kind.CHAT)

    response = admin_client.post(
        reverse("admin:chat_chatwidget_add"),
        {"name": "x", "allowed_origins": "acme.com/shop", "colour": "#000000", "greeting": "", "offline_message": ""},
    )

    assert response.status_code == 200
    assert not ChatWidget.objects.exists()


def test_availability_says_offline_when_no_agent_is_available():
    agent = factories.make_user()
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True, members=[agent])
    widget = make_widget()

    assert visitors.availability(widget) == visitors.Availability(False, "nobody")
    factories.make_available(agent, Channel.Kind.CHAT)
    assert visitors.availability(widget).online


def test_sandbox_company_site_embeds_the_demo_widget(client):
    from sandbox.chat_site import seed

    factories.channel(Channel.Kind.CHAT)
    seed(admin=None)

    response = client.get("/sandbox/site/")

    assert response.status_code == 200
    assert b'data-entry-point="demo-chat"' in response.content
