"""The pure parts of bench/realtime_stack.py (nothing timed, no servers)."""

import pytest

from bench._harness import percentile
from bench.realtime_stack import parse_args, round_sizes


def test_percentile_is_the_nearest_rank():
    values = list(range(1, 1001))  # 1..1000, shuffled order does not matter
    values.reverse()

    assert percentile(values, 50) == 500
    assert percentile(values, 95) == 950
    assert percentile(values, 100) == 1000
    assert percentile([7.0], 95) == 7.0


def test_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        percentile([], 95)


def test_push_rounds_share_the_messages_evenly():
    assert round_sizes(1000, 6) == [167, 167, 167, 167, 166, 166]
    assert sum(round_sizes(1000, 6)) == 1000


def test_defaults_are_the_issue_figures():
    args = parse_args([])

    assert (args.messages, args.pairs, args.connections, args.small) == (1000, 6, 2000, 200)
    assert args.database == "bench_realtime"
    assert not args.keep


@pytest.mark.parametrize(
    "argv",
    [
        ["--pairs", "0"],
        ["--messages", "3", "--pairs", "6"],
        ["--small", "2000"],
        ["--small", "0"],
        ["--broadcasts", "0"],
    ],
)
def test_nonsense_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert "error" in capsys.readouterr().err


@pytest.mark.django_db
def test_the_benchs_agent_page_asks_for_what_the_browser_does_and_gets_only_new_items(client):
    """The emulated page keeps the cursor, rows, timeline revision, newest ids and head digest from each
    answer, so its next fetch gets the delta a browser gets, not the whole timeline again."""
    from django.urls import reverse

    from bench._agent_page import AgentPage
    from conversations.models import Conversation, change_feed
    from tests import factories

    agent = factories.make_user()
    conversation = factories.make_conversation(inbox=factories.make_inbox(members=[agent]))
    first = factories.make_item(conversation, text="First message")
    client.force_login(agent)
    page = AgentPage("http://testserver", cookie="")
    page.open_id = conversation.pk

    def fetch():
        change_feed.stamp_changes()
        response = client.get(reverse("inbox:changes"), page.params("push"))
        page._remember(response.content.decode())
        return response.content.decode()

    drawn = fetch()
    assert 'id="timeline-items"' in drawn and page.known == [str(first.pk)] and page.head

    second = factories.make_item(conversation, text="Second message")
    Conversation.touch(conversation.pk, items_changed=False)
    delta = fetch()

    assert 'id="timeline-delta"' in delta and "Second message" in delta and "First message" not in delta
    assert page.known == [str(first.pk), str(second.pk)]
    assert 'id="conversation-head"' not in delta  # the head did not change
