"""Inbox search: the trigram-first query finds what the plain query found, and nothing of other inboxes.

Runs on SQLite (the capped queries one by one) and on PostgreSQL (one UNION ALL
over the trigram indexes); `test_same_conversations_as_the_plain_query` compares
it with the query it replaced.
"""

import pytest
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from conversations.models import Conversation
from inbox import conversation_list as listing
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return factories.make_user(first_name="Ada")


@pytest.fixture
def inbox(agent):
    return factories.make_inbox(name="Support", members=[agent], default=True)


@pytest.fixture
def other_inbox():
    return factories.make_inbox(name="Sales")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def world(inbox, other_inbox):
    """One conversation per way of matching, a closed one, and look-alikes in another Inbox."""
    entry_point = factories.make_entry_point()

    def conversation(target=inbox, text="Hello", **customer_fields):
        customer = factories.make_customer(entry_point, **customer_fields)
        made = factories.make_conversation(inbox=target, entry_point=entry_point, customer=customer)
        factories.make_item(made, text=text)
        return made

    made = {
        "name": conversation(name="Rosalind Franklin"),
        "username": conversation(name="", username="rosie_f"),
        "email": conversation(name="R. F.", emails=["ros@lab.test"]),
        "phone": conversation(name="R. F.", phones=["+14155550142"]),
        "identity": conversation(name="Mx Identity", external_id="IGSID-77-photo51"),
        "text": conversation(name="Maurice", text="I need a refund for order 51"),
        "closed": conversation(name="Old", text="Where is the photo of DNA?"),
        "other name": conversation(other_inbox, name="Rosalind Other"),
        "other text": conversation(other_inbox, text="refund for order 51 please"),
        "unrelated": conversation(name="Linus", text="Thanks!"),
    }
    Conversation.objects.filter(pk=made["closed"].pk).update(
        status=Conversation.Status.CLOSED, closed_at=timezone.now()
    )
    return made


def searched(agent, inbox_ids, q, **params):
    page = listing.conversation_page(agent, listing.ListQuery(q=q, **params), inbox_ids)
    return page, {row.pk for row in page.object_list}


@pytest.mark.parametrize(
    "term,expected",
    [
        ("Rosalind", {"name"}),
        ("rosie_f", {"username"}),
        ("@rosie_f", {"username"}),
        ("ros@lab", {"email"}),
        ("4155550142", {"phone"}),
        ("photo51", {"identity"}),
        ("REFUND", {"text"}),
        ("photo of dna", {"closed"}),
        ("zzz-nothing", set()),
    ],
)
def test_search_finds_each_kind_of_match_and_only_it(agent, inbox, world, term, expected):
    _, shown = searched(agent, [inbox.pk], term)

    assert shown == {world[name].pk for name in expected}


def test_other_inboxes_conversations_are_never_returned(agent, inbox, other_inbox, world):
    for term in ("Rosalind", "refund for order 51", "Hello"):
        _, shown = searched(agent, [inbox.pk], term)
        assert not shown & {world["other name"].pk, world["other text"].pk}, term


def test_the_page_cannot_be_pointed_at_another_inbox(agent_client, other_inbox, world):
    response = agent_client.get(reverse("inbox:home"), {"q": "refund", "inbox": other_inbox.pk})

    assert {row.pk for row in response.context["page_obj"].object_list} == {world["text"].pk}


def test_same_conversations_as_the_plain_query(agent, inbox, world):
    """The query search_matches replaced: one OR across the customer's fields and an EXISTS over items."""
    for term in ("Rosalind", "@rosie_f", "ros@lab", "4155550142", "photo51", "refund", "dna", "r", "e", "zzz"):
        plain = Q(customer__name__icontains=term) | Q(customer__username__icontains=term.lstrip("@"))
        plain |= Q(customer__emails__icontains=term) | Q(customer__phones__icontains=term)
        plain |= Q(customer__identities__external_id__icontains=term) | Q(items__text__icontains=term)
        expected = list(
            Conversation.objects.filter(inbox_id=inbox.pk)
            .filter(pk__in=Conversation.objects.filter(plain).values("pk"))
            .order_by("-updated_at", "-id")
            .values_list("pk", flat=True)
        )

        page, _ = searched(agent, [inbox.pk], term)

        assert [row.pk for row in page.object_list] == expected, term
        assert page.paginator.count == len(expected), term
        assert not page.search_capped, term


def test_mine_narrows_a_search(agent, inbox, world):
    Conversation.objects.filter(pk=world["text"].pk).update(assignee=agent)

    _, mine = searched(agent, [inbox.pk], "order 51", filter="mine")
    _, unassigned = searched(agent, [inbox.pk], "order 51", filter="unassigned")

    assert mine == {world["text"].pk}
    assert unassigned == set()


def test_a_search_past_the_cap_shows_some_matches_and_says_so(agent_client, agent, inbox, world, monkeypatch):
    monkeypatch.setattr(listing, "SEARCH_CAP", 3)
    for _ in range(3):
        factories.make_item(world["unrelated"], text="Thanks again!")

    page, shown = searched(agent, [inbox.pk], "thanks")
    html = agent_client.get(reverse("inbox:home"), {"q": "thanks"}).content.decode()

    assert page.search_capped
    assert shown == {world["unrelated"].pk}
    assert 'data-testid="search-capped"' in html


def test_a_search_under_the_cap_says_nothing_of_it(agent_client, world):
    html = agent_client.get(reverse("inbox:home"), {"q": "refund"}).content.decode()

    assert 'data-testid="search-capped"' not in html


def test_the_page_highlights_the_match_and_shows_a_closed_rows_status(agent_client, world):
    text = agent_client.get(reverse("inbox:home"), {"q": "refund"}).content.decode()
    closed = agent_client.get(reverse("inbox:home"), {"q": "DNA"}).content.decode()
    email = agent_client.get(reverse("inbox:home"), {"q": "ros@lab"}).content.decode()

    assert "I need a <mark>refund</mark> for order 51" in text
    assert "Where is the photo of <mark>DNA</mark>?" in closed
    assert f'data-testid="row-status-{world["closed"].pk}">Closed' in closed
    assert "<mark>ros@lab</mark>.test" in email
