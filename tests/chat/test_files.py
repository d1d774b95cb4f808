"""Files in chat: the agent's file reaches the visitor's widget inline, and each visitor fetches only the files of
their own conversations, with their own token; everything that is not a proven image is a download."""

import base64

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.urls import reverse

from channels_app.chat import visitors
from channels_app.chat.models import ChatVisitor
from channels_app.models import Channel
from conversations import outbound
from conversations.attachments import store_content
from conversations.models import Attachment, Conversation, TimelineItem
from conversations.outbound import SendRefused
from tests import factories

from .helpers import ORIGIN, fresh_layer, make_widget, visitor_socket  # noqa: F401 (fixture)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"
HTML = b"<html><script>alert(document.domain)</script></html>"


def chat_with(widget, agent, text="Hello"):
    """A visitor who wrote once, their conversation, and their token."""
    visitor = ChatVisitor.objects.create(widget=widget)
    received = visitors.receive_visitor_message(visitor, "c1", text)
    return visitor, received.item.conversation, visitors.issue_token(visitor)


def fetch(client, widget, attachment_id, token, origin=ORIGIN):
    return client.get(
        reverse("chat:file", args=[widget.public_id, attachment_id]), HTTP_ORIGIN=origin, HTTP_X_CHAT_TOKEN=token
    )


@pytest.fixture
def agent(db):
    agent = factories.make_user(first_name="Ada")
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True, members=[agent])
    return agent


@pytest.mark.django_db
def test_the_agents_image_and_text_go_as_one_message_with_the_file(agent):
    widget = make_widget()
    _, conversation, _ = chat_with(widget, agent)

    [item] = outbound.send_files(conversation, agent, [("shoes.png", PNG), ("size-chart.pdf", PDF)], "Here they are")
    outbound.drain_entry_point(conversation.entry_point_id)

    item.refresh_from_db()
    assert item.delivery_status == TimelineItem.Delivery.SENT
    shown = visitors.serialise(item)
    assert shown["text"] == "Here they are"
    image, pdf = sorted(shown["attachments"], key=lambda a: a["name"] != "shoes.png")
    assert image == {"id": image["id"], "kind": "image", "name": "shoes.png", "inline": True}
    assert pdf == {"id": pdf["id"], "kind": "file", "name": "size-chart.pdf", "inline": False}


@pytest.mark.django_db
def test_the_chat_composer_offers_files_with_its_limits(client, agent):
    widget = make_widget()
    _, conversation, _ = chat_with(widget, agent)
    client.force_login(agent)

    page = client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()

    assert 'data-testid="attach-input"' in page
    assert "Chat: any file up to 10 MB; up to 5 files." in page
    assert "accept=" not in page.split('data-testid="attach-input"')[0].rsplit("<input", 1)[1]


@pytest.mark.django_db
def test_more_files_than_the_chat_takes_are_refused(agent):
    widget = make_widget()
    _, conversation, _ = chat_with(widget, agent)

    with pytest.raises(SendRefused, match="Chat sends at most 5 files at once"):
        outbound.send_files(conversation, agent, [(f"{n}.png", PNG) for n in range(6)])


@pytest.mark.django_db(transaction=True)
def test_the_agents_file_reaches_the_visitors_open_widget(monkeypatch):
    monkeypatch.setattr(outbound, "_kick", lambda entry_point_id: None)  # the test drains
    agent = factories.make_user(first_name="Ada")
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True, members=[agent])
    widget = make_widget()

    async def scenario():
        socket = visitor_socket(widget)
        connected, _ = await socket.connect()
        assert connected
        await socket.send_json_to({"type": "hello", "token": "", "page_url": "https://shop.example.com/"})
        assert (await socket.receive_json_from())["type"] == "ready"
        await socket.send_json_to({"type": "message", "client_id": "c1", "text": "Which colours?"})
        await socket.receive_json_from()

        def send_picture():
            conversation = Conversation.objects.get()
            outbound.send_files(conversation, agent, [("blue.png", PNG)], "In blue")
            outbound.drain_entry_point(conversation.entry_point_id)

        await database_sync_to_async(send_picture)()
        while (message := await socket.receive_json_from(timeout=2))["type"] != "message":
            pass
        assert message["item"]["from"] == "agent" and message["item"]["text"] == "In blue"
        [attachment] = message["item"]["attachments"]
        assert attachment["kind"] == "image" and attachment["inline"] is True
        await socket.disconnect()
        return attachment["id"]

    attachment_id = async_to_sync(scenario)()
    assert Attachment.objects.get(pk=attachment_id).item.direction == TimelineItem.Direction.OUTBOUND


@pytest.mark.django_db
def test_the_visitor_fetches_the_agents_image_with_their_token(client, agent):
    widget = make_widget()
    _, conversation, token = chat_with(widget, agent)
    [item] = outbound.send_files(conversation, agent, [("blue.png", PNG)])

    response = fetch(client, widget, item.attachments.get().pk, token)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert not response.get("Content-Disposition", "").startswith("attachment")


@pytest.mark.django_db
def test_a_file_that_is_not_a_proven_image_is_a_download(client, agent):
    widget = make_widget()
    _, conversation, token = chat_with(widget, agent)
    [item] = outbound.send_files(conversation, agent, [("notes.html", HTML), ("chart.pdf", PDF)])

    for attachment in item.attachments.all():
        response = fetch(client, widget, attachment.pk, token)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_the_visitor_sees_their_own_uploaded_picture(client, agent):
    widget = make_widget()
    visitor, _, token = chat_with(widget, agent)
    received = visitors.receive_visitor_message(visitor, "c2", "", attachment=(PNG, "mine.png"))

    [shown] = visitors.serialise(received.item)["attachments"]
    assert shown["inline"] is True
    assert fetch(client, widget, shown["id"], token).status_code == 200


@pytest.mark.django_db
def test_someone_elses_visitor_token_cannot_fetch_the_file(client, agent):
    widget = make_widget()
    _, conversation, _ = chat_with(widget, agent)
    [item] = outbound.send_files(conversation, agent, [("blue.png", PNG)])
    other = ChatVisitor.objects.create(widget=widget)

    response = fetch(client, widget, item.attachments.get().pk, visitors.issue_token(other))

    assert response.status_code == 404


@pytest.mark.django_db
def test_a_token_of_another_widget_or_none_or_a_forged_one_is_refused(client, agent):
    widget = make_widget()
    _, conversation, token = chat_with(widget, agent)
    [item] = outbound.send_files(conversation, agent, [("blue.png", PNG)])
    attachment_id = item.attachments.get().pk
    elsewhere = make_widget()

    assert fetch(client, elsewhere, attachment_id, token).status_code == 403
    assert fetch(client, widget, attachment_id, "").status_code == 403
    assert fetch(client, widget, attachment_id, token[:-2] + "xx").status_code == 403


@pytest.mark.django_db
def test_a_website_not_allowed_cannot_fetch_even_with_the_token(client, agent):
    widget = make_widget()
    _, conversation, token = chat_with(widget, agent)
    [item] = outbound.send_files(conversation, agent, [("blue.png", PNG)])

    response = fetch(client, widget, item.attachments.get().pk, token, origin="https://evil.example")

    assert response.status_code == 403


@pytest.mark.django_db
def test_the_preflight_allows_the_token_header_for_the_widgets_website(client, agent):
    widget = make_widget()

    response = client.options(
        reverse("chat:file", args=[widget.public_id, 1]),
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-chat-token",
    )

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Chat-Token" in response["Access-Control-Allow-Headers"]
    assert "GET" in response["Access-Control-Allow-Methods"]


@pytest.mark.django_db
def test_a_customers_file_in_another_channel_is_not_reachable_through_the_chat(client, agent):
    widget = make_widget()
    _, _, token = chat_with(widget, agent)
    other = factories.make_conversation(inbox=factories.make_inbox(), entry_point=factories.make_entry_point())
    attachment = Attachment.objects.create(item=factories.make_item(other, text="x"), kind="image", filename="a.png")

    store_content(attachment, PNG, "a.png")

    assert fetch(client, widget, attachment.pk, token).status_code == 404
