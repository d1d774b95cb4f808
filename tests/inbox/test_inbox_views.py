"""The agents' browser inbox: isolation, actions, live updates and query counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conversations import signals
from conversations.models import Conversation, OutboundMessage, TimelineItem, change_feed
from inbox import conversation_list as listing
from inbox.models import AgentAvailability
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return factories.make_user()


@pytest.fixture
def inbox(agent):
    return factories.make_inbox(name="Support", members=[agent])


@pytest.fixture
def entry_point():
    entry_point = factories.make_entry_point()
    factories.make_instagram_account(entry_point)
    return entry_point


@pytest.fixture
def conversation(inbox, entry_point):
    conversation = factories.make_conversation(
        inbox=inbox, entry_point=entry_point, last_customer_message_at=timezone.now()
    )
    factories.make_item(conversation, text="Where is my order?", external_id="mid.customer.1")
    return conversation


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def outsider_client(client):
    """An agent of another inbox."""
    outsider = factories.make_user()
    factories.make_inbox(name="Other", members=[outsider])
    client.force_login(outsider)
    return client


def url(name, conversation, *args):
    return reverse(f"inbox:{name}", args=[conversation.pk, *args])


def htmx_post(client, path, data=None):
    return client.post(path, data or {}, HTTP_HX_REQUEST="true")


# --- Membership isolation ---------------------------------------------------


def test_member_sees_conversation(agent_client, conversation):
    response = agent_client.get(url("conversation", conversation))

    assert response.status_code == 200
    assert b"Where is my order?" in response.content


def test_other_inbox_conversation_is_404(outsider_client, conversation):
    assert outsider_client.get(url("conversation", conversation)).status_code == 404
    assert outsider_client.get(url("items", conversation)).status_code == 404


def test_other_inbox_conversation_not_in_list(outsider_client, conversation):
    response = outsider_client.get(reverse("inbox:home"))

    assert conversation.customer.name not in response.content.decode()


@pytest.mark.parametrize(
    "name,data",
    [
        ("reply", {"text": "Hello"}),
        ("note", {"text": "Internal"}),
        ("assign", {"assignee": "me"}),
        ("close", {}),
        ("reopen", {}),
        ("transfer", {"inbox": "1"}),
    ],
)
def test_outsider_cannot_act(outsider_client, conversation, name, data):
    response = outsider_client.post(url(name, conversation), data)

    assert response.status_code == 404
    assert conversation.items.count() == 1


def test_outsider_cannot_like_or_retry(outsider_client, conversation):
    item = conversation.items.get()

    assert outsider_client.post(url("like", conversation, item.pk)).status_code == 404
    assert outsider_client.post(url("retry", conversation, item.pk)).status_code == 404
    assert not TimelineItem.objects.filter(kind=TimelineItem.Kind.AGENT_LIKE).exists()


def test_outsider_poll_ignores_other_inbox(outsider_client, conversation):
    response = outsider_client.get(reverse("inbox:changes"), {"since": 0, "open": conversation.pk})

    assert response.status_code == 204


def test_outsider_poll_cannot_reveal_by_shown_ids(outsider_client, conversation):
    response = outsider_client.get(
        reverse("inbox:changes"), {"since": 0, "shown": str(conversation.pk), "open": conversation.pk}
    )

    assert conversation.customer.name not in response.content.decode()
    assert "Where is my order?" not in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client, conversation):
    response = client.get(url("conversation", conversation))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_actions_need_post(agent_client, conversation):
    assert agent_client.get(url("close", conversation)).status_code == 405


def test_actions_need_csrf(agent, conversation):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    assert client.post(url("close", conversation)).status_code == 403


# --- Actions -----------------------------------------------------------------


def test_reply_queues_agent_message(agent_client, agent, conversation):
    response = htmx_post(agent_client, url("reply", conversation), {"text": "On its way!"})

    item = conversation.items.get(kind=TimelineItem.Kind.AGENT_MESSAGE)
    assert response.status_code == 200
    assert (item.text, item.author, item.delivery_status) == ("On its way!", agent, "queued")
    assert OutboundMessage.objects.filter(item=item).exists()
    assert b"On its way!" in response.content


def test_reply_refused_shows_reason_and_keeps_draft(agent_client, conversation):
    response = htmx_post(agent_client, url("reply", conversation), {"text": "   "})

    assert "Write a message first." in response.content.decode()
    assert not conversation.items.filter(kind=TimelineItem.Kind.AGENT_MESSAGE).exists()


def test_reply_after_seven_days_is_refused(agent_client, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(last_customer_message_at=timezone.now() - timedelta(days=8))

    response = htmx_post(agent_client, url("reply", conversation), {"text": "Still there?"})

    assert "more than 7 days" in response.content.decode().lower()
    assert not conversation.items.filter(kind=TimelineItem.Kind.AGENT_MESSAGE).exists()


def test_composer_explains_human_agent_window(agent_client, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(last_customer_message_at=timezone.now() - timedelta(days=2))

    response = agent_client.get(url("conversation", conversation))

    assert "HUMAN_AGENT" in response.content.decode()


def test_reply_to_closed_conversation_reopens_it(agent_client, agent, conversation):
    # Issue #14 (12): a reply to a closed conversation reopens it, as peers do (it was refused before).
    Conversation.objects.filter(pk=conversation.pk).update(status="closed", closed_at=timezone.now())

    response = htmx_post(agent_client, url("reply", conversation), {"text": "Hi"})

    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert conversation.items.filter(kind=TimelineItem.Kind.AGENT_MESSAGE, text="Hi").exists()
    assert "reopened the conversation" in response.content.decode()


def test_like_queues_heart_on_customer_message(agent_client, conversation):
    message = conversation.items.get()

    htmx_post(agent_client, url("like", conversation, message.pk))

    like = conversation.items.get(kind=TimelineItem.Kind.AGENT_LIKE)
    assert like.reply_to == message
    assert like.outbound.payload == {"message_id": "mid.customer.1", "reaction": "love"}


def test_like_twice_is_refused(agent_client, conversation):
    message = conversation.items.get()
    htmx_post(agent_client, url("like", conversation, message.pk))

    response = htmx_post(agent_client, url("like", conversation, message.pk))

    assert "already liked" in response.content.decode()
    assert conversation.items.filter(kind=TimelineItem.Kind.AGENT_LIKE).count() == 1


def test_like_of_item_in_other_conversation_is_404(agent_client, conversation, inbox):
    other = factories.make_conversation(inbox=inbox)
    foreign_item = factories.make_item(other, external_id="mid.other")

    assert agent_client.post(url("like", conversation, foreign_item.pk)).status_code == 404


def test_note_is_internal_and_never_sent(agent_client, agent, conversation):
    htmx_post(agent_client, url("note", conversation), {"text": "VIP customer"})

    note = conversation.items.get(kind=TimelineItem.Kind.NOTE)
    assert (note.text, note.author, note.direction) == ("VIP customer", agent, "internal")
    assert not OutboundMessage.objects.exists()


def test_empty_note_is_refused(agent_client, conversation):
    response = htmx_post(agent_client, url("note", conversation), {"text": ""})

    assert "Write the note first." in response.content.decode()


def test_assign_to_self_is_audited(agent_client, agent, conversation):
    htmx_post(agent_client, url("assign", conversation), {"assignee": "me"})

    conversation.refresh_from_db()
    assert conversation.assignee == agent
    change = conversation.items.get(kind=TimelineItem.Kind.STATUS_CHANGE)
    assert change.text == f"{agent} took the conversation"


def test_assign_to_other_member(agent_client, inbox, conversation):
    colleague = factories.make_user()
    inbox.memberships.create(user=colleague)

    htmx_post(agent_client, url("assign", conversation), {"assignee": str(colleague.pk)})

    conversation.refresh_from_db()
    assert conversation.assignee == colleague


def test_assign_to_non_member_is_refused(agent_client, conversation):
    stranger = factories.make_user()

    response = htmx_post(agent_client, url("assign", conversation), {"assignee": str(stranger.pk)})

    conversation.refresh_from_db()
    assert conversation.assignee is None
    assert "is not a member" in response.content.decode()


def test_unassign(agent_client, agent, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(assignee=agent)

    htmx_post(agent_client, url("assign", conversation), {"assignee": ""})

    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_transfer_moves_to_inbox_unassigned(agent_client, agent, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(assignee=agent)
    vip = factories.make_inbox(name="VIP")

    response = htmx_post(agent_client, url("transfer", conversation), {"inbox": str(vip.pk)})

    conversation.refresh_from_db()
    assert (conversation.inbox, conversation.assignee) == (vip, None)
    assert "transferred the conversation from Support to VIP" in conversation.items.last().text
    assert "no longer in your inboxes" in response.content.decode() or "Transferred" in response.content.decode()


def test_transfer_to_other_channel_inbox_is_refused(agent_client, conversation):
    email = factories.make_inbox(name="Email", kind="email")

    response = htmx_post(agent_client, url("transfer", conversation), {"inbox": str(email.pk)})

    conversation.refresh_from_db()
    assert conversation.inbox.name == "Support"
    assert "serves another Channel" in response.content.decode()


def test_close_sets_closed_and_signals(agent_client, agent, conversation):
    received = []

    def receiver(sender, conversation, by, **kwargs):
        received.append((conversation.pk, by))

    signals.conversation_closed.connect(receiver)
    try:
        htmx_post(agent_client, url("close", conversation))
    finally:
        signals.conversation_closed.disconnect(receiver)

    conversation.refresh_from_db()
    assert conversation.status == "closed" and conversation.closed_at is not None
    assert received == [(conversation.pk, agent)]
    assert conversation.items.last().text == f"{agent} closed the conversation"


def test_reopen(agent_client, agent, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(status="closed", closed_at=timezone.now())
    received = []
    signals.conversation_reopened.connect(lambda sender, **kw: received.append(kw["by"]), weak=False)
    try:
        htmx_post(agent_client, url("reopen", conversation))
    finally:
        signals.conversation_reopened.receivers.clear()

    conversation.refresh_from_db()
    assert (conversation.status, conversation.closed_at) == ("open", None)
    assert received == [agent]


def test_reopen_refused_when_customer_has_another_open(agent_client, conversation, inbox):
    Conversation.objects.filter(pk=conversation.pk).update(status="closed", closed_at=timezone.now())
    newer = factories.make_conversation(
        inbox=inbox, entry_point=conversation.entry_point, customer=conversation.customer
    )

    response = htmx_post(agent_client, url("reopen", conversation))

    conversation.refresh_from_db()
    assert conversation.status == "closed"
    assert f"#{newer.pk}" in response.content.decode()


def test_action_without_htmx_redirects_back(agent_client, conversation):
    response = agent_client.post(url("assign", conversation), {"assignee": "me"})

    assert response.status_code == 302
    assert response["Location"] == url("conversation", conversation)


def test_retry_only_for_failed_items(agent_client, agent, conversation):
    item = factories.make_item(
        conversation, kind=TimelineItem.Kind.AGENT_MESSAGE, text="Sent", delivery_status="sent", author=agent
    )

    response = htmx_post(agent_client, url("retry", conversation, item.pk))

    assert "failed message" in response.content.decode() or "not available" in response.content.decode()


def test_action_touches_conversation(agent_client, conversation):
    before = Conversation.objects.get(pk=conversation.pk).updated_at

    htmx_post(agent_client, url("note", conversation), {"text": "x"})

    assert Conversation.objects.get(pk=conversation.pk).updated_at > before


# --- Availability ------------------------------------------------------------


def test_set_available_picks_up_waiting_conversation(agent_client, agent, conversation, inbox):
    response = htmx_post(
        agent_client, reverse("inbox:availability"), {"channel": inbox.channel_id, "status": "available"}
    )

    assert response.status_code == 200
    assert AgentAvailability.objects.get(user=agent, channel=inbox.channel).status == "available"
    conversation.refresh_from_db()
    assert conversation.assignee == agent


def test_availability_works_for_an_agent_in_two_inboxes_of_one_channel(agent_client, agent, inbox):
    factories.make_inbox(name="Second inbox", members=[agent])

    response = htmx_post(
        agent_client, reverse("inbox:availability"), {"channel": inbox.channel_id, "status": "available"}
    )

    assert response.status_code == 200


def test_availability_only_for_own_channels(agent_client):
    email_channel = factories.channel("email")

    response = agent_client.post(reverse("inbox:availability"), {"channel": email_channel.pk, "status": "available"})

    assert response.status_code == 404


# --- Live updates ------------------------------------------------------------


def changes(client, since, **params):
    return client.get(reverse("inbox:changes"), {"since": since, **params})


def settled_cursor():
    """Number every change made so far (as their commits would) and return the page's cursor."""
    change_feed.stamp_changes()
    return listing.latest_change()


def touch_and_commit(django_capture_on_commit_callbacks, conversation_id):
    """A change committed and numbered, as the first reader after its commit numbers it."""
    with django_capture_on_commit_callbacks(execute=True):
        Conversation.touch(conversation_id)
    assert Conversation.objects.get(pk=conversation_id).change_seq is None
    change_feed.stamp_changes()


def test_changes_204_when_nothing_changed(agent_client, conversation):
    assert changes(agent_client, settled_cursor()).status_code == 204


@pytest.mark.parametrize("since", ["yesterday", "2026-11-26T03:00:00+00:00", "-1", "9" * 40, ""])
def test_changes_with_an_unreadable_cursor_redraw_everything_with_a_fresh_one(agent_client, conversation, since):
    cursor = settled_cursor()

    response = changes(agent_client, since, open=conversation.pk, shown=str(conversation.pk))

    body = response.content.decode()
    assert response.status_code == 200
    assert f'data-cursor="{cursor}"' in body
    assert 'id="list-pane"' in body and 'id="timeline-items"' in body


def test_changes_returns_list_and_new_cursor(agent_client, conversation, django_capture_on_commit_callbacks):
    cursor = settled_cursor()
    touch_and_commit(django_capture_on_commit_callbacks, conversation.pk)

    response = changes(agent_client, cursor)

    body = response.content.decode()
    assert response.status_code == 200
    # The page reported no rows, so all of them come (its search, filters and bulk bar stay as drawn).
    assert 'id="list-body" hx-swap-oob="true"' in body and 'id="list-pane"' not in body
    assert f'data-cursor="{cursor + 1}"' in body
    assert 'id="timeline-items"' not in body
    assert changes(agent_client, cursor + 1).status_code == 204


def test_changes_report_a_change_not_numbered_yet_without_moving_the_cursor(agent_client, conversation):
    cursor = settled_cursor()
    Conversation.touch(conversation.pk)  # this test's transaction: the poll may not number it inside it

    response = changes(agent_client, cursor)

    assert response.status_code == 200
    assert f'data-cursor="{cursor}"' in response.content.decode()


def test_changes_include_timeline_only_of_open_conversation_when_it_changed(
    agent_client, inbox, conversation, django_capture_on_commit_callbacks
):
    other = factories.make_conversation(inbox=inbox)
    cursor = settled_cursor()
    touch_and_commit(django_capture_on_commit_callbacks, other.pk)

    unchanged_open = changes(agent_client, cursor, open=conversation.pk).content.decode()
    factories.make_item(conversation, text="Any news?")
    touch_and_commit(django_capture_on_commit_callbacks, conversation.pk)
    changed_open = changes(agent_client, cursor, open=conversation.pk).content.decode()

    assert 'id="timeline-items"' not in unchanged_open
    assert 'id="timeline-items"' in changed_open and "Any news?" in changed_open


def test_changes_keep_the_open_conversation_when_another_one_changed(
    agent_client, inbox, conversation, django_capture_on_commit_callbacks
):
    other = factories.make_conversation(inbox=inbox)
    cursor = settled_cursor()
    touch_and_commit(django_capture_on_commit_callbacks, other.pk)

    body = changes(agent_client, cursor, open=conversation.pk).content.decode()

    # The next poll (or push) still asks about the open conversation, whose row stays highlighted.
    assert f"&quot;open&quot;: &quot;{conversation.pk}&quot;" in body or f'"open": "{conversation.pk}"' in body
    assert 'class="conv-row is-active"' in body


def test_changes_title_counts_conversations_waiting_for_agent(agent_client, agent, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(sla_due_at=timezone.now() + timedelta(hours=1))

    response = changes(agent_client, 0)

    assert "<title>(1) Inbox" in response.content.decode()


def test_changes_notice_open_conversation_moved_away(agent_client, conversation, django_capture_on_commit_callbacks):
    cursor = settled_cursor()
    Conversation.objects.filter(pk=conversation.pk).update(inbox=factories.make_inbox(name="Elsewhere"))
    touch_and_commit(django_capture_on_commit_callbacks, conversation.pk)

    response = changes(agent_client, cursor, open=conversation.pk, shown=str(conversation.pk))

    assert "no longer in your inboxes" in response.content.decode()


# --- List ------------------------------------------------------------------------


def test_list_orders_by_sla_due_then_age(agent_client, inbox):
    now = timezone.now()
    later = factories.make_conversation(inbox=inbox, sla_due_at=now + timedelta(hours=2))
    sooner = factories.make_conversation(inbox=inbox, sla_due_at=now + timedelta(minutes=5))
    no_sla = factories.make_conversation(inbox=inbox)

    response = agent_client.get(reverse("inbox:home"))

    rows = [row.pk for row in response.context["page_obj"].object_list]
    assert rows == [sooner.pk, later.pk, no_sla.pk]


@pytest.mark.parametrize(
    "filter_name,expected",
    [("mine", {"mine"}), ("unassigned", {"unassigned"}), ("closed", {"closed"}), ("all", {"mine", "unassigned"})],
)
def test_list_filters(agent_client, agent, inbox, filter_name, expected):
    made = {
        "mine": factories.make_conversation(inbox=inbox, assignee=agent),
        "unassigned": factories.make_conversation(inbox=inbox),
        "closed": factories.make_conversation(inbox=inbox, status="closed", closed_at=timezone.now()),
    }

    response = agent_client.get(reverse("inbox:home"), {"filter": filter_name})

    shown = {row.pk for row in response.context["page_obj"].object_list}
    assert shown == {made[name].pk for name in expected}


@pytest.mark.parametrize("term", ["Rosalind", "rosie_f", "@rosie_f", "refund"])
def test_search_by_name_username_or_message_text(agent_client, inbox, term):
    customer = factories.make_customer(name="Rosalind Franklin", username="rosie_f")
    match = factories.make_conversation(inbox=inbox, customer=customer)
    factories.make_item(match, text="I would like a refund please")
    factories.make_conversation(inbox=inbox)

    response = agent_client.get(reverse("inbox:home"), {"q": term})

    assert [row.pk for row in response.context["page_obj"].object_list] == [match.pk]


def test_list_shows_preview_and_sla_badge(agent_client, inbox, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(sla_due_at=timezone.now() - timedelta(minutes=10))

    body = agent_client.get(reverse("inbox:home")).content.decode()

    assert "Where is my order?" in body
    assert "Overdue 10m" in body


def test_timeline_marks_states(agent_client, agent, conversation):
    factories.make_item(
        conversation,
        kind=TimelineItem.Kind.AGENT_MESSAGE,
        text="Sorry",
        author=agent,
        delivery_status="failed",
        failure_reason="Outside the messaging window",
    )
    factories.make_item(conversation, kind=TimelineItem.Kind.OTHER_AUTOMATION, text="Promo")
    factories.make_item(conversation, text="secret", deleted_by_customer=True, external_id="mid.deleted")

    body = agent_client.get(url("conversation", conversation)).content.decode()

    assert "Outside the messaging window" in body and "Retry" in body
    assert "Sent outside the app" in body
    assert "deleted by the customer" in body and "secret" not in body


# --- Query counts ----------------------------------------------------------------


def fill(inbox, entry_point, agent, rows):
    customer = factories.make_customer(entry_point)
    open_conversation = factories.make_conversation(
        inbox=inbox, entry_point=entry_point, customer=customer, last_customer_message_at=timezone.now()
    )
    items = [
        TimelineItem(
            conversation=open_conversation,
            entry_point=entry_point,
            kind=TimelineItem.Kind.CUSTOMER_MESSAGE if n % 2 else TimelineItem.Kind.AGENT_MESSAGE,
            direction="in" if n % 2 else "out",
            author=None if n % 2 else agent,
            text=f"message {n}",
            external_id=f"mid.{rows}.{n}",
            delivery_status="" if n % 2 else "sent",
        )
        for n in range(rows)
    ]
    TimelineItem.objects.bulk_create(items)
    for _ in range(rows):
        conversation = factories.make_conversation(inbox=inbox, entry_point=entry_point, assignee=agent)
        factories.make_item(conversation, text="hi")
    return open_conversation


def count_queries(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", ["list", "conversation"])
def test_page_query_count_is_constant(agent_client, agent, inbox, entry_point, page):
    small = fill(inbox, entry_point, agent, 10)
    path = reverse("inbox:home") if page == "list" else url("conversation", small)
    with_10 = count_queries(agent_client, path)

    big = fill(inbox, entry_point, agent, 200)
    path = reverse("inbox:home") if page == "list" else url("conversation", big)
    with_200 = count_queries(agent_client, path)

    assert with_10 == with_200


def test_the_customer_card_shows_how_the_customer_came(agent_client, conversation):
    identity = conversation.customer.identities.get()
    identity.attributes = {
        "referral": {"source": "ADS", "type": "OPEN_THREAD", "ad_id": "6045246247433", "ad_title": "Spring sale"},
    }
    identity.save()

    response = agent_client.get(url("conversation", conversation))

    assert "An ad “Spring sale”" in response.content.decode()


def test_a_link_referral_shows_its_ref(agent_client, conversation):
    identity = conversation.customer.identities.get()
    identity.attributes = {"referral": {"source": "SHORTLINK", "type": "OPEN_THREAD", "ref": "summer-promo"}}
    identity.save()

    response = agent_client.get(url("conversation", conversation))

    assert "A link (m.me) · ref summer-promo" in response.content.decode()
