from django.utils import timezone

from channels_app.models import Channel
from conversations.models import Conversation
from conversations.routing import assign, assign_waiting_conversations, route_conversation
from inbox.availability import set_availability
from inbox.models import AgentAvailability
from tests.factories import channel, make_available, make_conversation, make_inbox, make_user


def test_new_conversation_is_offered_to_an_available_member(db):
    agent = make_user()
    make_inbox("Instagram", default=True, members=[agent])
    make_available(agent)

    conversation = route_conversation(make_conversation())

    assert conversation.assignee == agent


def test_agents_away_in_the_channel_are_not_offered_conversations(db):
    agent = make_user()
    make_inbox("Instagram", default=True, members=[agent])
    make_available(agent, Channel.Kind.EMAIL)  # available elsewhere, not in Messaging

    conversation = route_conversation(make_conversation())

    assert conversation.assignee is None


def test_agents_of_other_inboxes_are_not_offered_conversations(db):
    outsider = make_user()
    make_inbox("Instagram", default=True)
    make_inbox("VIP", members=[outsider])
    make_available(outsider)

    assert route_conversation(make_conversation()).assignee is None


def test_the_least_busy_available_agent_gets_the_conversation(db):
    busy, free = make_user(), make_user()
    inbox = make_inbox("Instagram", default=True, members=[busy, free])
    make_available(busy)
    make_available(free)
    make_conversation(inbox=inbox, assignee=busy)

    assert route_conversation(make_conversation()).assignee == free


def test_closed_conversations_do_not_count_against_capacity(db):
    agent = make_user(capacity=1)
    inbox = make_inbox("Instagram", default=True, members=[agent])
    make_available(agent)
    make_conversation(inbox=inbox, assignee=agent, status=Conversation.Status.CLOSED, closed_at=timezone.now())

    assert route_conversation(make_conversation()).assignee == agent


def test_capacity_is_respected(db):
    agent = make_user(capacity=1)
    inbox = make_inbox("Instagram", default=True, members=[agent])
    make_available(agent)
    make_conversation(inbox=inbox, assignee=agent)

    assert route_conversation(make_conversation()).assignee is None


def test_going_available_picks_up_waiting_conversations_oldest_first(db):
    agent = make_user(capacity=1)
    inbox = make_inbox("Instagram", default=True, members=[agent])
    older = make_conversation(inbox=inbox, opened_at=timezone.now() - timezone.timedelta(hours=2))
    make_conversation(inbox=inbox, opened_at=timezone.now())

    set_availability(agent, channel(Channel.Kind.MESSAGING), AgentAvailability.Status.AVAILABLE)

    assert list(agent.assigned_conversations.all()) == [older]


def test_assign_does_not_take_a_conversation_from_its_assignee(db):
    first, second = make_user(), make_user()
    inbox = make_inbox(members=[first, second])
    make_available(second)
    conversation = make_conversation(inbox=inbox, assignee=first)

    assert assign(conversation) == first


def test_the_safety_net_assigns_waiting_conversations(db):
    agent = make_user()
    inbox = make_inbox(default=True, members=[agent])
    conversation = make_conversation(inbox=inbox)
    AgentAvailability.objects.create(user=agent, channel=inbox.channel, status=AgentAvailability.Status.AVAILABLE)

    assert assign_waiting_conversations() == 1
    conversation.refresh_from_db()
    assert conversation.assignee == agent
