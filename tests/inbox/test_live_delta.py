"""Live updates that send only what the page lacks: the open conversation's new items, and the list's changed rows.

A page reports the timeline revision it drew (`rev`) and its newest item ids
(`known`); while the revision holds, the changes endpoint answers only the items
it does not have, wherever they fall (one that committed late included). Any
change to an item already shown bumps the revision, and the page redraws."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conversations import inbound
from conversations.models import Conversation, OutboundMessage, TimelineItem, change_feed
from inbox import conversation_list as listing
from inbox.timeline import timeline_delta
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return factories.make_user()


@pytest.fixture
def inbox(agent):
    return factories.make_inbox(name="Support", members=[agent])


@pytest.fixture
def conversation(inbox):
    conversation = factories.make_conversation(inbox=inbox, last_customer_message_at=timezone.now())
    for text in ("Hello", "Where is my order?"):
        factories.make_item(conversation, text=text)
    return conversation


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def settled_cursor():
    change_feed.stamp_changes()
    return listing.latest_change()


def ids(conversation):
    return list(TimelineItem.objects.filter(conversation=conversation).order_by("id").values_list("pk", flat=True))


def page_state(client, conversation):
    """What the page's poller would send after drawing the conversation."""
    change_feed.stamp_changes()  # earlier changes are numbered before the page loads
    html = client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    return {
        "since": re.search(r'data-cursor="([^"]*)"', html).group(1),
        "shown": re.search(r'"shown": "([^"]*)"', html).group(1),
        "open": conversation.pk,
        "rev": re.search(r'id="timeline-items" data-rev="(\d+)"', html).group(1),
        "known": ",".join(re.findall(r'id="item-(\d+)"', html)),
    }


def changes(client, state, **overrides):
    change_feed.stamp_changes()
    return client.get(reverse("inbox:changes"), {**state, **overrides})


def add_message(conversation, text, **fields):
    item = factories.make_item(conversation, text=text, **fields)
    Conversation.touch(conversation.pk, items_changed=False)
    return item


def test_a_new_message_comes_alone_after_the_item_it_follows(agent_client, conversation):
    state = page_state(agent_client, conversation)
    last = ids(conversation)[-1]
    new = add_message(conversation, "Any news?")

    body = changes(agent_client, state).content.decode()

    assert 'id="timeline-delta"' in body and 'id="timeline-items"' not in body
    assert f'data-item="{new.pk}" data-follows="{last}"' in body
    assert "Any news?" in body and "Where is my order?" not in body  # nothing the page has


def test_a_message_that_committed_late_still_comes_in_its_place(agent_client, conversation):
    """Its id is lower than one the page shows already: the page gets it all the same."""
    first, second = ids(conversation)
    elsewhere = factories.make_conversation(inbox=conversation.inbox)
    late = factories.make_item(elsewhere, text="Written first, committed last")
    state = page_state(agent_client, conversation)
    newer = add_message(conversation, "Committed first")
    state["known"] += f",{newer.pk}"  # the page fetched it already
    # The late one lands in this conversation now, as a transaction that commits after the other's.
    TimelineItem.objects.filter(pk=late.pk).update(conversation=conversation, occurred_at=timezone.now())
    Conversation.touch(conversation.pk, items_changed=False)
    assert late.pk < newer.pk

    body = changes(agent_client, state).content.decode()

    assert "Written first, committed last" in body
    assert f'data-item="{late.pk}" data-follows="{newer.pk}"' in body
    assert "Committed first" not in body


def test_a_change_to_a_shown_item_redraws_the_timeline(agent_client, conversation):
    state = page_state(agent_client, conversation)
    item = TimelineItem.objects.filter(conversation=conversation).latest("id")
    TimelineItem.objects.filter(pk=item.pk).update(deleted_by_customer=True)
    Conversation.touch(conversation.pk)  # the default: items may have changed

    body = changes(agent_client, state).content.decode()

    assert 'id="timeline-items" hx-swap-oob="true"' in body and 'id="timeline-delta"' not in body
    assert f'data-rev="{int(state["rev"]) + 1}"' in body


@pytest.mark.parametrize(
    "what_the_page_says",
    [{"known": ""}, {"known": "x,y"}, {"known": "-5"}, {"rev": ""}, {"rev": "abc"}, {"rev": "999"}],
)
def test_a_page_that_knows_no_items_or_another_revision_redraws(agent_client, conversation, what_the_page_says):
    state = page_state(agent_client, conversation)
    add_message(conversation, "Any news?")

    body = changes(agent_client, state, **what_the_page_says).content.decode()

    assert 'id="timeline-items" hx-swap-oob="true"' in body


def test_more_new_items_than_a_page_redraws(conversation):
    known = ids(conversation)
    for number in range(5):
        factories.make_item(conversation, text=f"Message {number}")

    assert timeline_delta(conversation, known, limit=4) is None
    assert len(timeline_delta(conversation, known, limit=5).items) == 5


def test_another_conversations_ids_reveal_nothing_of_it(agent_client, conversation, inbox):
    secret = factories.make_conversation(inbox=factories.make_inbox(name="Other"))
    secret_item = factories.make_item(secret, text="Not yours")
    state = page_state(agent_client, conversation)
    add_message(conversation, "Any news?")

    body = changes(agent_client, state, known=f"{secret_item.pk}").content.decode()

    assert "Not yours" not in body and "Any news?" in body


def test_queued_replies_the_page_shows_come_again_with_their_reason(agent_client, conversation):
    """A queued reply's reason to wait can change without the reply changing (the account paused)."""
    factories.make_instagram_account(conversation.entry_point)
    reply = factories.make_item(
        conversation,
        kind=TimelineItem.Kind.AGENT_MESSAGE,
        delivery_status=TimelineItem.Delivery.QUEUED,
        text="On its way",
    )
    OutboundMessage.objects.create(
        entry_point=conversation.entry_point,
        item=reply,
        kind="text",
        recipient_id="123",
        payload={},
        last_error="Meta is busy",
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    state = page_state(agent_client, conversation)
    add_message(conversation, "Any news?")

    body = changes(agent_client, state).content.decode()

    assert f'data-item="{reply.pk}" data-replace' in body
    assert "Meta is busy" in body


def test_a_customers_follow_up_keeps_the_revision(conversation):
    """The hot path (a message from a known customer) only adds items: open pages fetch just it."""
    from conversations.inbound import IncomingMessage

    identity = conversation.customer.identities.get()
    before = Conversation.objects.get(pk=conversation.pk).timeline_rev

    inbound.receive_message(
        conversation.entry_point,
        IncomingMessage(
            customer_id=identity.external_id,
            message_id="mid.follow-up",
            occurred_at=timezone.now(),
            text="One more thing",
        ),
    )

    after = Conversation.objects.get(pk=conversation.pk)
    assert after.items.filter(text="One more thing").exists()
    assert after.timeline_rev == before


def test_a_delivery_state_bumps_the_revision(conversation):
    factories.make_item(
        conversation,
        kind=TimelineItem.Kind.AGENT_MESSAGE,
        delivery_status=TimelineItem.Delivery.SENT,
        external_id="mid.ours",
    )
    before = Conversation.objects.get(pk=conversation.pk).timeline_rev

    inbound.record_delivery(conversation.entry_point, "mid.ours", TimelineItem.Delivery.DELIVERED)

    assert Conversation.objects.get(pk=conversation.pk).timeline_rev == before + 1


def test_only_the_changed_row_comes_while_the_list_keeps_its_order(agent_client, conversation, inbox):
    other = factories.make_conversation(inbox=inbox)
    factories.make_item(other, text="Hi there")
    state = page_state(agent_client, conversation)
    add_message(conversation, "Any news?")

    body = changes(agent_client, state).content.decode()

    assert f'id="row-{conversation.pk}" hx-swap-oob="true"' in body
    assert f'id="row-{other.pk}"' not in body and 'id="list-body"' not in body
    assert 'id="filter-tabs" aria-label="Filter" hx-swap-oob="true"' in body


def test_all_rows_come_when_the_list_changed_order(agent_client, conversation, inbox):
    state = page_state(agent_client, conversation)
    newcomer = factories.make_conversation(inbox=inbox)
    factories.make_item(newcomer, text="I am new here")
    Conversation.touch(newcomer.pk)

    body = changes(agent_client, state).content.decode()

    assert 'id="list-body" hx-swap-oob="true"' in body and "I am new here" in body


def test_the_head_comes_only_when_what_it_shows_changed(agent_client, conversation, agent):
    state = page_state(agent_client, conversation)
    html = agent_client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    state["head"] = re.search(r'id="conversation-head" class="conv-head" data-head="([0-9a-f]+)"', html).group(1)
    add_message(conversation, "Any news?")

    body = changes(agent_client, state).content.decode()

    assert 'id="conversation-head"' not in body and "Any news?" in body

    state["since"] = re.search(r'data-cursor="([^"]*)"', body).group(1)
    Conversation.objects.filter(pk=conversation.pk).update(assignee=agent)
    add_message(conversation, "Hello?")

    body = changes(agent_client, state).content.decode()

    assert 'id="conversation-head" class="conv-head" hx-swap-oob="true"' in body
