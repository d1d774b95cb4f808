"""Issue #14: the agent's side of the Instagram journey (each test failed before the fix)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.meta import accounts, oauth
from channels_app.meta.models import InstagramAccount
from conversations import outbound
from conversations.models import Conversation, CustomerReaction, OutboundMessage, SendSlot, TimelineItem
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return factories.make_user()


@pytest.fixture
def inbox(agent):
    return factories.make_inbox(name="Instagram", members=[agent])


@pytest.fixture
def account():
    return factories.make_instagram_account(
        factories.make_entry_point(display_name="@acmeshoes"), username="acmeshoes", page_id="100000000000001"
    )


@pytest.fixture
def conversation(inbox, account):
    conversation = factories.make_conversation(
        inbox=inbox, entry_point=account.entry_point, last_customer_message_at=timezone.now()
    )
    factories.make_item(conversation, text="Where is my order?", external_id="mid.customer.1")
    return conversation


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def page(client, conversation):
    return client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()


def post(client, name, conversation, data=None, *args):
    return client.post(
        reverse(f"inbox:{name}", args=[conversation.pk, *args]), data or {}, HTTP_HX_REQUEST="true"
    ).content.decode()


# --- 2. Why a reply is stuck -------------------------------------------------------


def test_a_queued_reply_says_the_send_budget_is_used_up_and_when_it_frees(agent_client, conversation, settings):
    settings.INSTAGRAM_SEND_LIMIT = 2
    settings.INSTAGRAM_SEND_WINDOW_SECONDS = 300
    taken = timezone.now() - timedelta(seconds=60)
    SendSlot.objects.create(entry_point_id=conversation.entry_point_id, taken_at=taken)
    SendSlot.objects.create(entry_point_id=conversation.entry_point_id, taken_at=taken + timedelta(seconds=5))
    item = outbound.send_reply(conversation, None, "Soon!")
    frees_at = timezone.localtime(taken + timedelta(seconds=300)).strftime("%H:%M")

    html = page(agent_client, conversation)

    expected = f"Waiting: the account&#x27;s send budget frees at {frees_at}."
    assert f'data-testid="queue-reason-{item.pk}">{expected}' in html
    assert 'data-testid="send-banner"' in html


def test_a_paused_account_shows_why_on_the_item_and_a_banner(agent_client, conversation, account):
    item = outbound.send_reply(conversation, None, "Waiting for the token")
    accounts.mark_needs_reauthorization(account, "Meta refused the page token")

    html = page(agent_client, conversation)

    reason = "Paused: the account @acmeshoes needs reauthorization; an admin has been told."
    assert f'data-testid="queue-reason-{item.pk}">{reason}' in html
    assert 'class="send-banner blocked"' in html


def test_no_banner_while_the_account_can_send(agent_client, conversation):
    assert 'data-testid="send-banner"' not in page(agent_client, conversation)


# --- 3. A removed account ---------------------------------------------------------


def test_replies_to_a_removed_account_are_refused_and_queued_ones_fail_then_retry_after_adding_again(
    agent_client, conversation, account
):
    queued = outbound.send_reply(conversation, None, "Queued before removal")
    with mock.patch.object(oauth, "unsubscribe_page"):
        accounts.remove_account(account)

    queued.refresh_from_db()
    assert queued.delivery_status == TimelineItem.Delivery.FAILED
    assert "the account @acmeshoes was removed" in queued.failure_reason
    html = page(agent_client, conversation)
    assert "was removed in Settings; replies can&#x27;t be sent until it is added again" in html
    assert f'data-testid="no-retry-{queued.pk}"' in html  # Retry is not offered while it can't succeed

    refused = post(agent_client, "reply", conversation, {"text": "Hello?"})
    assert "was removed in Settings" in refused
    assert not TimelineItem.objects.filter(text="Hello?").exists()

    # An admin adds it again (Facebook Login): Retry works.
    choice = oauth.PageChoice(
        page_id="100000000000001",
        page_name=account.page_name,
        page_token="NEW-TOKEN",
        ig_user_id=account.ig_user_id,
        ig_username="acmeshoes",
        ig_name="Acme Shoes",
        ig_picture_url="",
    )
    with mock.patch.object(oauth, "subscribe_page"):
        [result] = accounts.connect_accounts(factories.make_admin(), [choice])
    assert result.verb == "added again"
    assert f'data-testid="retry-{queued.pk}"' in page(agent_client, conversation)

    post(agent_client, "retry", conversation, {}, queued.pk)

    queued.refresh_from_db()
    assert queued.delivery_status == TimelineItem.Delivery.QUEUED
    assert OutboundMessage.objects.get(item=queued).status == OutboundMessage.Status.QUEUED


# --- 14. One window: the composer, the failure and Retry agree -----------------------


def test_retry_is_not_offered_when_the_window_cannot_allow_it(agent_client, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(last_customer_message_at=timezone.now() - timedelta(days=8))
    failed = factories.make_item(
        conversation,
        kind=TimelineItem.Kind.AGENT_MESSAGE,
        text="Too late",
        delivery_status=TimelineItem.Delivery.FAILED,
        failure_reason="Instagram refused it: the customer's messaging window has closed.",
    )
    OutboundMessage.objects.create(
        entry_point_id=conversation.entry_point_id,
        item=failed,
        kind=OutboundMessage.Kind.TEXT,
        recipient_id="IGSID",
        payload={"text": "Too late"},
        status=OutboundMessage.Status.FAILED,
    )

    html = page(agent_client, conversation)

    assert f'data-testid="retry-{failed.pk}"' not in html
    assert f'data-testid="no-retry-{failed.pk}"' in html
    assert "More than 7 days have passed" in html  # the composer says the same
    refused = post(agent_client, "retry", conversation, {}, failed.pk)
    assert "More than 7 days have passed" in refused


# --- 9. Rows can be told apart -----------------------------------------------------


def test_two_customers_of_the_same_name_show_username_and_entry_point(agent_client, inbox, account):
    for username in ("maya.lopez", "mayalopez_shop"):
        customer = factories.make_customer(account.entry_point, name="Maya Lopez", username=username)
        factories.make_conversation(inbox=inbox, entry_point=account.entry_point, customer=customer)

    html = agent_client.get(reverse("inbox:home")).content.decode()

    assert "@maya.lopez · " in html and "@mayalopez_shop · " in html
    assert html.count('class="conv-who') == 2


# --- 10. Counts agree --------------------------------------------------------------


def test_top_bar_and_tab_count_the_same_open_conversations(agent_client, inbox, account):
    factories.make_conversation(inbox=inbox, entry_point=account.entry_point, status=Conversation.Status.OPEN)
    factories.make_conversation(inbox=inbox, entry_point=account.entry_point, status=Conversation.Status.WAITING)

    html = agent_client.get(reverse("inbox:home")).content.decode()

    assert 'data-testid="count-open"><b>2</b> open' in html
    assert 'data-testid="filter-all">All open <span class="tab-count">2</span>' in html


# --- 11. Search covers every status ------------------------------------------------


def test_search_finds_a_closed_conversation_from_the_open_tab_and_shows_its_status(agent_client, inbox, account):
    closed = factories.make_conversation(
        inbox=inbox, entry_point=account.entry_point, status=Conversation.Status.CLOSED, closed_at=timezone.now()
    )
    factories.make_item(closed, text="I want to reserve a table")

    html = agent_client.get(reverse("inbox:home"), {"q": "reserve"}).content.decode()

    assert f'data-conversation="{closed.pk}"' in html
    assert f'data-testid="row-status-{closed.pk}">Closed' in html


# --- 12. A closed conversation -----------------------------------------------------


def test_a_closed_conversation_composer_says_so_and_offers_reopen(agent_client, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(status="closed", closed_at=timezone.now())

    html = page(agent_client, conversation)

    assert "This conversation is closed." in html
    assert "Sending a reply reopens it" in html
    assert 'data-testid="composer-reopen"' in html
    assert 'data-testid="send-reply" >Send and reopen' in html  # enabled: Enter sends


# --- 13. Back to Reply after a note ------------------------------------------------


def test_after_a_note_the_composer_returns_to_reply(agent_client, conversation):
    html = post(agent_client, "note", conversation, {"text": "Checked the warehouse"})

    assert 'value="reply" checked' in html
    assert 'value="note" checked' not in html
    assert "composer note-mode" not in html


# --- 16. A customer's reaction to our reply ----------------------------------------


def test_a_customers_heart_on_our_reply_shows_on_that_reply_not_as_an_item(agent_client, conversation):
    reply = factories.make_item(
        conversation,
        kind=TimelineItem.Kind.AGENT_MESSAGE,
        text="It ships today",
        external_id="mid.ours.1",
        delivery_status=TimelineItem.Delivery.DELIVERED,
    )
    CustomerReaction.objects.create(
        entry_point=conversation.entry_point,
        customer=conversation.customer,
        message_external_id="mid.ours.1",
        action="react",
        reaction="love",
        emoji="❤️",
    )

    html = page(agent_client, conversation)

    assert f'data-testid="customer-reaction-{reply.pk}"' in html
    assert conversation.items.count() == 2  # no item of its own


def test_an_unreact_removes_the_heart(agent_client, conversation):
    reply = factories.make_item(conversation, kind=TimelineItem.Kind.AGENT_MESSAGE, text="Ok", external_id="mid.ours.2")
    now = timezone.now()
    for action, at in (("react", now - timedelta(minutes=1)), ("unreact", now)):
        CustomerReaction.objects.create(
            entry_point=conversation.entry_point,
            customer=conversation.customer,
            message_external_id="mid.ours.2",
            action=action,
            occurred_at=at,
        )

    assert f'data-testid="customer-reaction-{reply.pk}"' not in page(agent_client, conversation)


def test_reauthorize_resumes_queued_sends_with_the_flag_cleared(
    conversation, account, django_capture_on_commit_callbacks
):
    # Issue #14 (1): after reauthorizing, the account can send again and the queue is kicked.
    outbound.send_reply(conversation, None, "Paused one")
    accounts.mark_needs_reauthorization(account, "expired")
    choice = oauth.PageChoice(
        page_id=account.page_id,
        page_name=account.page_name,
        page_token="FRESH-TOKEN",
        ig_user_id=account.ig_user_id,
        ig_username="acmeshoes",
        ig_name="",
        ig_picture_url="",
    )
    with mock.patch.object(oauth, "subscribe_page") as subscribe:
        with mock.patch("conversations.outbound.current_app.send_task") as send_task:
            with django_capture_on_commit_callbacks(execute=True):
                [result] = accounts.connect_accounts(factories.make_admin(), [choice])

    subscribe.assert_called_once_with(account.page_id, "FRESH-TOKEN")
    assert result.verb == "reauthorized"
    account.refresh_from_db()
    assert account.status == InstagramAccount.Status.CONNECTED
    assert outbound.sending_state(account.entry_point).reason == ""
    send_task.assert_any_call(
        "conversations.tasks.drain_entry_point", args=[account.entry_point_id], kwargs={"owner": mock.ANY}
    )
