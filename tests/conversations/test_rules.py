"""Rules: conditions, actions, order, once per message, no loops."""

import datetime

import pytest
import time_machine

from channels_app.models import Channel
from conversations import signals
from conversations.models import Conversation, OutboundMessage, Rule, RuleFiring, TimelineItem
from tests.conversations.helpers import make_business_hours, make_instagram_conversation, receive
from tests.factories import make_available, make_entry_point, make_inbox, make_user

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
MONDAY_NOON = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SATURDAY = datetime.datetime(2026, 3, 7, 12, 0, tzinfo=UTC)


def make_rule(position=0, **fields):
    fields.setdefault("channel", Channel.objects.get(kind=Channel.Kind.MESSAGING))
    fields.setdefault("name", f"Rule at {position}")
    if not any(fields.get(name) for name in Rule.ACTION_FIELDS):
        fields["note_text"] = f"note from {fields['name']}"
    return Rule.objects.create(position=position, **fields)


@pytest.fixture
def inbox():
    return make_inbox()


@pytest.fixture
def conversation(inbox):
    return make_instagram_conversation(inbox)


def notes(conversation):
    return list(conversation.items.filter(kind=TimelineItem.Kind.NOTE).values_list("text", flat=True))


def fired(rule):
    return RuleFiring.objects.filter(rule=rule).count()


def test_rules_run_in_position_order(conversation):
    make_rule(position=20, name="second")
    make_rule(position=10, name="first")

    receive(conversation)

    assert notes(conversation) == ["note from first", "note from second"]


def test_an_inactive_rule_does_not_run(conversation):
    rule = make_rule(active=False)

    receive(conversation)

    assert fired(rule) == 0


def test_a_rule_fires_at_most_once_per_message(conversation):
    rule = make_rule()
    item = receive(conversation)

    signals.customer_message_received.send(sender=TimelineItem, conversation=conversation, item=item)

    assert fired(rule) == 1
    assert len(notes(conversation)) == 1


def test_each_new_message_can_fire_the_rule_again(conversation):
    rule = make_rule()

    receive(conversation)
    receive(conversation, "again")

    assert fired(rule) == 2


@time_machine.travel(MONDAY_NOON, tick=False)
def test_a_rule_does_not_loop_on_its_own_auto_reply(conversation):
    rule = make_rule(auto_reply_text="We got it!")
    receive(conversation)
    auto_reply = conversation.items.get(kind=TimelineItem.Kind.AUTO_REPLY)

    # Even if something announced our own auto-reply (or its echo) as a customer message:
    signals.customer_message_received.send(sender=TimelineItem, conversation=conversation, item=auto_reply)

    assert fired(rule) == 1
    assert OutboundMessage.objects.count() == 1


def test_channel_condition(conversation):
    rule = make_rule(channel=Channel.objects.get(kind=Channel.Kind.EMAIL))

    receive(conversation)

    assert fired(rule) == 0


def test_entry_point_condition(conversation):
    other = make_rule(entry_point=make_entry_point(), name="other")
    mine = make_rule(entry_point=conversation.entry_point, name="mine")

    receive(conversation)

    assert (fired(other), fired(mine)) == (0, 1)


def test_inbox_condition(conversation, inbox):
    other = make_rule(inbox=make_inbox(), name="other")
    mine = make_rule(inbox=inbox, name="mine")

    receive(conversation)

    assert (fired(other), fired(mine)) == (0, 1)


def test_first_message_condition(conversation):
    rule = make_rule(first_message_only=True)

    receive(conversation, conversation_created=True)
    receive(conversation, "second")

    assert fired(rule) == 1


@pytest.mark.parametrize(
    ("words", "match", "text", "fires"),
    [
        ("refund, money back", Rule.WordsMatch.CONTAINS, "I want my MONEY BACK now", True),
        ("refund", Rule.WordsMatch.CONTAINS, "Where are my refunds?", True),
        ("refund", Rule.WordsMatch.CONTAINS, "Where is my parcel?", False),
        ("refund", Rule.WordsMatch.WHOLE_WORD, "Where are my refunds?", False),
        ("refund", Rule.WordsMatch.WHOLE_WORD, "Refund, please!", True),
    ],
)
def test_words_condition(conversation, words, match, text, fires):
    rule = make_rule(words=words, words_match=match)

    receive(conversation, text)

    assert fired(rule) == int(fires)


def test_customer_is_new_condition(inbox):
    rule = make_rule(customer_is_new=True)
    first = make_instagram_conversation(inbox, status=Conversation.Status.CLOSED, closed_at=MONDAY_NOON)
    returning = make_instagram_conversation(inbox, customer=first.customer, entry_point=first.entry_point)
    newcomer = make_instagram_conversation(inbox)

    receive(returning)
    receive(newcomer)

    assert list(RuleFiring.objects.filter(rule=rule).values_list("conversation_id", flat=True)) == [newcomer.pk]


@pytest.mark.parametrize(
    ("moment", "hours", "fires"),
    [
        (SATURDAY, Rule.Hours.OUTSIDE, True),
        (SATURDAY, Rule.Hours.WITHIN, False),
        (MONDAY_NOON, Rule.Hours.WITHIN, True),
        (MONDAY_NOON, Rule.Hours.OUTSIDE, False),
    ],
)
def test_business_hours_condition_uses_the_rule_schedule(conversation, moment, hours, fires):
    rule = make_rule(hours=hours, business_hours=make_business_hours("Europe/Berlin"))

    with time_machine.travel(moment, tick=False):
        receive(conversation)

    assert fired(rule) == int(fires)


def test_business_hours_condition_falls_back_to_the_conversation_schedule(inbox):
    inbox.business_hours = make_business_hours("Europe/Berlin")
    inbox.save()
    conversation = make_instagram_conversation(inbox)
    rule = make_rule(hours=Rule.Hours.OUTSIDE)

    with time_machine.travel(SATURDAY, tick=False):
        receive(conversation)

    assert fired(rule) == 1


@time_machine.travel(MONDAY_NOON, tick=False)
def test_auto_reply_action_queues_an_auto_reply_that_leaves_the_sla_running(conversation):
    make_rule(auto_reply_text="Thanks, an agent will answer soon.")

    receive(conversation)

    reply = conversation.items.get(kind=TimelineItem.Kind.AUTO_REPLY)
    assert reply.text == "Thanks, an agent will answer soon."
    assert OutboundMessage.objects.filter(item=reply).exists()
    conversation.refresh_from_db()
    assert conversation.sla_due_at is not None


@time_machine.travel(SATURDAY, tick=False)
def test_auto_reply_outside_the_24_hour_window_is_refused_and_recorded(conversation):
    rule = make_rule(auto_reply_text="Thanks!")

    receive(conversation, occurred_at=SATURDAY - datetime.timedelta(hours=25))

    assert not conversation.items.filter(kind=TimelineItem.Kind.AUTO_REPLY).exists()
    assert "Auto-reply not sent" in RuleFiring.objects.get(rule=rule).outcome
    assert "24 hours" in RuleFiring.objects.get(rule=rule).outcome


def test_move_to_inbox_action_moves_and_offers_to_an_agent_there(conversation):
    agent = make_user()
    vip = make_inbox(name="VIP", members=[agent])
    make_available(agent)
    make_rule(move_to_inbox=vip)

    receive(conversation)

    assert (conversation.inbox, conversation.assignee) == (vip, agent)


def test_assign_action_assigns_the_agent(conversation):
    agent = make_user()
    conversation.inbox.memberships.create(user=agent)
    make_rule(assign_to=agent)

    receive(conversation)

    assert conversation.assignee == agent
    assert conversation.items.filter(kind=TimelineItem.Kind.STATUS_CHANGE, metadata__change="assigned").exists()


def test_assign_action_refuses_an_agent_outside_the_inbox_and_says_so(conversation):
    outsider = make_user()
    rule = make_rule(assign_to=outsider)

    receive(conversation)

    assert conversation.assignee is None
    assert RuleFiring.objects.get(rule=rule).outcome.startswith("Not assigned: ")


def test_note_action_adds_an_internal_note(conversation):
    make_rule(note_text="Check the order number first.")

    receive(conversation)

    note = conversation.items.get(kind=TimelineItem.Kind.NOTE)
    assert (note.text, note.direction) == ("Check the order number first.", TimelineItem.Direction.INTERNAL)


def test_close_action_closes_stops_the_sla_and_later_rules(conversation):
    make_rule(position=1, close=True, name="spam filter")
    later_rule = make_rule(position=2, name="later")

    receive(conversation, "buy followers")

    assert conversation.status == Conversation.Status.CLOSED
    assert conversation.sla_due_at is None
    assert fired(later_rule) == 0
    assert conversation.items.filter(kind=TimelineItem.Kind.STATUS_CHANGE).exists()


def test_a_failing_rule_is_recorded_and_the_next_rule_still_runs(conversation, monkeypatch):
    from conversations import rules

    broken = make_rule(position=1, name="broken", note_text="x")
    working = make_rule(position=2, name="working")
    original = rules.apply_actions

    def apply_actions(rule, *args):
        if rule == broken:
            raise RuntimeError("database hiccup")
        return original(rule, *args)

    monkeypatch.setattr(rules, "apply_actions", apply_actions)

    receive(conversation)

    assert RuleFiring.objects.get(rule=broken).outcome == "Failed: database hiccup"
    assert fired(working) == 1


def test_rule_outcome_says_what_happened(conversation):
    vip = make_inbox(name="VIP")
    rule = make_rule(move_to_inbox=vip, note_text="VIP customer")

    receive(conversation)

    assert RuleFiring.objects.get(rule=rule).outcome == "Added a note; moved to VIP"
