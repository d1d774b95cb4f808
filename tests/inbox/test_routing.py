import logging

from channels_app.models import RoutingException
from conversations.models import Conversation
from conversations.routing import route, route_conversation, route_unrouted_conversations
from tests.factories import make_conversation, make_entry_point, make_inbox


def test_route_goes_to_the_channels_default_inbox(db):
    default = make_inbox("Instagram", default=True)
    entry_point = make_entry_point()

    assert route(entry_point).inbox == default


def test_route_prefers_the_entry_points_exception(db):
    make_inbox("Instagram", default=True)
    vip = make_inbox("VIP")
    entry_point = make_entry_point()
    RoutingException.objects.create(entry_point=entry_point, inbox=vip)

    assert route(entry_point).inbox == vip


def test_an_exception_on_one_entry_point_leaves_others_on_the_default(db):
    default = make_inbox("Instagram", default=True)
    RoutingException.objects.create(entry_point=make_entry_point(), inbox=make_inbox("VIP"))

    assert route(make_entry_point()).inbox == default


def test_missing_default_inbox_keeps_the_conversation_unrouted_and_logs(db, caplog):
    conversation = make_conversation()

    with caplog.at_level(logging.WARNING, logger="inbox.services"):
        route_conversation(conversation)

    conversation.refresh_from_db()
    assert conversation.inbox is None
    assert conversation.unrouted_reason == "The Messaging Channel has no default Inbox"
    assert "unrouted" in caplog.text


def test_paused_entry_point_keeps_messages_unrouted_until_resumed(db):
    make_inbox("Instagram", default=True)
    entry_point = make_entry_point(active=False)
    conversation = route_conversation(make_conversation(entry_point=entry_point))
    assert conversation.inbox is None
    assert conversation.unrouted_reason == "Entry point is paused"

    entry_point.active = True
    entry_point.save()
    routed = route_unrouted_conversations([entry_point])

    conversation.refresh_from_db()
    assert routed == 1
    assert conversation.inbox.name == "Instagram"


def test_choosing_a_default_inbox_later_routes_what_waited(db):
    conversation = route_conversation(make_conversation())
    make_inbox("Instagram", default=True)

    route_unrouted_conversations()

    conversation.refresh_from_db()
    assert conversation.inbox.name == "Instagram"


def test_closed_unrouted_conversations_are_left_alone(db):
    conversation = make_conversation(status=Conversation.Status.CLOSED, closed_at="2026-01-01T00:00:00Z")
    make_inbox("Instagram", default=True)

    assert route_unrouted_conversations() == 0
    conversation.refresh_from_db()
    assert conversation.inbox is None
