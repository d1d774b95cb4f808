"""Messenger and WhatsApp sends: windows, templates outside WhatsApp's window, limits, Meta's refusals."""

import json
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from channels_app.meta.models import MessengerPage, WhatsAppNumber, WhatsAppTemplate
from conversations import outbound
from conversations.models import OutboundMessage, TimelineItem
from conversations.outbound import SendRefused, drain_entry_point, send_like, send_reply, send_template
from conversations.senders import ReplyWindow, sender_for
from conversations.window import reply_window
from tests.factories import (
    make_conversation,
    make_customer,
    make_inbox,
    make_item,
    make_messenger_page,
    make_user,
    make_whatsapp_number,
)

GRAPH = "https://graph.facebook.com/v23.0"
WAMID = "wamid.sent.1"


@pytest.fixture
def agent(db):
    return make_user()


def conversation_at(entry_point, customer_id, minutes_ago=5):
    return make_conversation(
        inbox=make_inbox(),
        entry_point=entry_point,
        customer=make_customer(entry_point, external_id=customer_id),
        last_customer_message_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


@pytest.fixture
def messenger(db):
    page = make_messenger_page()
    return conversation_at(page.entry_point, "PSID-1")


@pytest.fixture
def whatsapp(db):
    number = make_whatsapp_number()
    return conversation_at(number.entry_point, "16505551234")


def meta_error(code, status=400, details=""):
    error = {"message": f"Error {code}", "type": "OAuthException", "code": code, "fbtrace_id": "AbC"}
    if details:
        error["error_data"] = {"details": details}
    return {"json": {"error": error}, "status": status}


# --- Messenger ---------------------------------------------------------------


@responses.activate
def test_a_messenger_reply_goes_through_the_pages_send_api(messenger, agent):
    responses.post(f"{GRAPH}/100000000000001/messages", json={"recipient_id": "PSID-1", "message_id": "m_sent_1"})

    item = send_reply(messenger, agent, "Your order ships today.")
    drain_entry_point(messenger.entry_point_id)

    item.refresh_from_db()
    assert (item.delivery_status, item.external_id) == ("sent", "m_sent_1")
    body = json.loads(responses.calls[0].request.body)
    assert body == {
        "recipient": {"id": "PSID-1"},
        "message": {"text": "Your order ships today."},
        "messaging_type": "RESPONSE",
    }
    assert "access_token=page-token-secret" in responses.calls[0].request.url


@responses.activate
def test_after_24_hours_a_messenger_reply_goes_with_the_human_agent_tag(db, agent):
    page = make_messenger_page()
    conversation = conversation_at(page.entry_point, "PSID-2", minutes_ago=60 * 30)
    responses.post(f"{GRAPH}/{page.page_id}/messages", json={"message_id": "m_sent_2"})

    window = reply_window(conversation)
    send_reply(conversation, agent, "Still here")
    drain_entry_point(conversation.entry_point_id)

    assert window.state == ReplyWindow.EXTENDED
    body = json.loads(responses.calls[0].request.body)
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_after_7_days_messenger_refuses_with_the_reason(db, agent):
    page = make_messenger_page()
    conversation = conversation_at(page.entry_point, "PSID-3", minutes_ago=60 * 24 * 8)

    with pytest.raises(SendRefused, match="Messenger allows replies again"):
        send_reply(conversation, agent, "Hello?")


@responses.activate
def test_an_invalid_page_token_pauses_the_messenger_page(messenger, agent):
    responses.post(f"{GRAPH}/100000000000001/messages", **meta_error(190))

    item = send_reply(messenger, agent, "Hi")
    drain_entry_point(messenger.entry_point_id)

    assert MessengerPage.objects.get().status == MessengerPage.Status.NEEDS_REAUTHORIZATION
    item.refresh_from_db()
    assert item.delivery_status == TimelineItem.Delivery.QUEUED


def test_messenger_uses_its_own_send_limit(messenger, settings):
    settings.MESSENGER_SEND_LIMIT, settings.MESSENGER_SEND_WINDOW_SECONDS = 7, 2
    limit = sender_for(messenger.entry_point).rate_limit(messenger.entry_point)
    assert (limit.count, limit.window_seconds) == (7, 2)


def test_a_removed_messenger_page_cannot_send(messenger, agent):
    MessengerPage.objects.update(status=MessengerPage.Status.REMOVED)

    with pytest.raises(SendRefused, match="was removed in Settings"):
        send_reply(messenger, agent, "Hi")


# --- WhatsApp ------------------------------------------------------------------


def make_template(waba_id="102290129340398", **fields):
    fields.setdefault("name", "order_update")
    fields.setdefault("language", "en_US")
    fields.setdefault("components", [{"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."}])
    fields.setdefault(
        "variables",
        [{"component": "body", "name": "1", "example": "Ana"}, {"component": "body", "name": "2", "example": "#42"}],
    )
    return WhatsAppTemplate.objects.create(waba_id=waba_id, category="UTILITY", **fields)


@responses.activate
def test_a_whatsapp_reply_inside_the_window_is_a_text(whatsapp, agent):
    responses.post(f"{GRAPH}/106540352242922/messages", json={"messages": [{"id": WAMID}]})

    item = send_reply(whatsapp, agent, "It comes in blue too.")
    drain_entry_point(whatsapp.entry_point_id)

    item.refresh_from_db()
    assert (item.delivery_status, item.external_id) == ("sent", WAMID)
    body = json.loads(responses.calls[0].request.body)
    assert body["type"] == "text" and body["text"]["body"] == "It comes in blue too."
    assert body["to"] == "16505551234"


def test_outside_24_hours_whatsapp_allows_only_templates(db, agent):
    number = make_whatsapp_number()
    conversation = conversation_at(number.entry_point, "16505550000", minutes_ago=60 * 25)

    window = reply_window(conversation)

    assert window.state == ReplyWindow.TEMPLATES_ONLY
    assert "Outside the 24-hour window WhatsApp allows only approved templates" in window.reason
    with pytest.raises(SendRefused, match="only approved templates"):
        send_reply(conversation, agent, "Hello?")


@responses.activate
def test_a_template_goes_out_with_its_variables_outside_the_window(db, agent):
    number = make_whatsapp_number()
    conversation = conversation_at(number.entry_point, "16505550000", minutes_ago=60 * 25)
    template = make_template()
    responses.post(f"{GRAPH}/106540352242922/messages", json={"messages": [{"id": WAMID}]})

    offered = outbound.templates(conversation)
    item = send_template(conversation, agent, offered[0]["id"], {"body:1": "Sheena", "body:2": "#1001"})
    drain_entry_point(conversation.entry_point_id)

    assert [t["name"] for t in offered] == ["order_update"]
    item.refresh_from_db()
    assert item.text == "Hi Sheena, your order #1001 has shipped."
    assert item.delivery_status == "sent"
    body = json.loads(responses.calls[0].request.body)
    assert body["type"] == "template"
    assert body["template"] == {
        "name": template.name,
        "language": {"code": "en_US"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Sheena"}, {"type": "text", "text": "#1001"}]}
        ],
    }


def test_a_template_needs_every_variable(db, agent):
    number = make_whatsapp_number()
    conversation = conversation_at(number.entry_point, "16505550000", minutes_ago=60 * 25)
    template = make_template()

    with pytest.raises(SendRefused, match="Fill in"):
        send_template(conversation, agent, str(template.pk), {"body:1": "Sheena"})


def test_channels_without_templates_offer_none(messenger):
    assert outbound.templates(messenger) == []


@responses.activate
def test_the_pair_rate_limit_backs_off_a_few_seconds(whatsapp, agent):
    responses.post(f"{GRAPH}/106540352242922/messages", **meta_error(131056))

    send_reply(whatsapp, agent, "One more thing")
    drain_entry_point(whatsapp.entry_point_id)

    message = OutboundMessage.objects.get()
    assert message.status == OutboundMessage.Status.QUEUED
    wait = (message.next_attempt_at - timezone.now()).total_seconds()
    assert 2 < wait <= 6.5


@pytest.mark.parametrize(
    ("code", "words"),
    [(131047, "only an approved template can be sent"), (131026, "may not be on WhatsApp"), (132015, "paused")],
)
@responses.activate
def test_whatsapp_refusals_fail_the_message_in_plain_words(whatsapp, agent, code, words):
    responses.post(f"{GRAPH}/106540352242922/messages", **meta_error(code))

    item = send_reply(whatsapp, agent, "Hi")
    drain_entry_point(whatsapp.entry_point_id)

    item.refresh_from_db()
    assert item.delivery_status == TimelineItem.Delivery.FAILED
    assert words in item.failure_reason


@responses.activate
def test_a_payment_problem_pauses_the_number(whatsapp, agent):
    responses.post(f"{GRAPH}/106540352242922/messages", **meta_error(131042))

    send_reply(whatsapp, agent, "Hi")
    drain_entry_point(whatsapp.entry_point_id)

    number = WhatsAppNumber.objects.get()
    assert number.status == WhatsAppNumber.Status.NEEDS_REAUTHORIZATION
    assert "payment" in number.status_reason


@responses.activate
def test_a_like_on_whatsapp_is_a_reaction(whatsapp, agent):
    customer_message = make_item(whatsapp, external_id="wamid.customer.1")
    responses.post(f"{GRAPH}/106540352242922/messages", json={"messages": [{"id": "wamid.reaction"}]})

    send_like(customer_message, agent)
    drain_entry_point(whatsapp.entry_point_id)

    body = json.loads(responses.calls[0].request.body)
    assert body["type"] == "reaction"
    assert body["reaction"]["message_id"] == "wamid.customer.1"


def test_whatsapp_throughput_is_per_number_per_second(whatsapp, settings):
    settings.WHATSAPP_SEND_PER_SECOND = 20
    limit = sender_for(whatsapp.entry_point).rate_limit(whatsapp.entry_point)
    assert (limit.count, limit.window_seconds) == (20, 1)


# --- the composer -----------------------------------------------------------------


@pytest.fixture
def late_whatsapp(db, agent):
    number = make_whatsapp_number()
    conversation = conversation_at(number.entry_point, "16505550000", minutes_ago=60 * 25)
    conversation.inbox.memberships.create(user=agent)
    make_template()
    return conversation


def test_the_composer_offers_templates_outside_whatsapps_window(client, agent, late_whatsapp):
    client.force_login(agent)

    page = client.get(f"/inbox/c/{late_whatsapp.pk}/").content.decode()

    assert 'data-testid="template-picker"' in page
    assert "order_update" in page
    assert "Outside the 24-hour window WhatsApp allows only approved templates" in page
    assert page.count('data-testid="template-variable"') == 2


def test_the_composer_shows_no_templates_inside_the_window(client, agent, whatsapp):
    whatsapp.inbox.memberships.create(user=agent)
    make_template()
    client.force_login(agent)

    assert 'data-testid="template-picker"' not in client.get(f"/inbox/c/{whatsapp.pk}/").content.decode()


def test_posting_the_picker_queues_the_filled_in_template(client, agent, late_whatsapp):
    client.force_login(agent)
    template = WhatsAppTemplate.objects.get()

    client.post(
        f"/inbox/c/{late_whatsapp.pk}/template/",
        {"template": template.pk, f"var:{template.pk}:body:1": "Sheena", f"var:{template.pk}:body:2": "#7"},
    )

    item = TimelineItem.objects.get(kind=TimelineItem.Kind.AGENT_MESSAGE)
    assert item.text == "Hi Sheena, your order #7 has shipped."
    assert OutboundMessage.objects.get().payload["template"]["variables"] == {"body:1": "Sheena", "body:2": "#7"}


@pytest.mark.parametrize(
    ("factory", "kind", "described"),
    [
        (make_messenger_page, "messenger", "the Page"),
        (make_whatsapp_number, "whatsapp", "the WhatsApp number"),
    ],
)
def test_every_meta_product_says_why_replies_wait_or_are_refused_in_the_same_words(db, factory, kind, described):
    connection = factory()
    sender = sender_for(connection.entry_point)
    assert sender.paused_reason(connection.entry_point) == ""

    connection.status, connection.status_reason = connection.Status.NEEDS_REAUTHORIZATION, "Token expired."
    connection.save()
    paused = sender.paused_reason(connection.entry_point)
    assert paused.startswith(f"Paused: {described} ")
    assert "needs reauthorization; an admin has been told. Meta said: Token expired. Replies wait" in paused

    connection.status = connection.Status.REMOVED
    connection.save()
    assert sender.removed_reason(connection.entry_point).startswith(f"{described[0].upper()}{described[1:]} ")
    assert "was removed in Settings" in sender.removed_reason(connection.entry_point)

    connection.delete()
    noun = "Messenger Page" if kind == "messenger" else "WhatsApp number"
    assert sender.removed_reason(connection.entry_point) == f"This conversation's {noun} is not connected."
