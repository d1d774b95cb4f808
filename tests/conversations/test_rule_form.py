"""Settings › Rules: conditions and actions as rows, mapped onto the rule's fields; bad rows refused on the row."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from channels_app.models import Channel
from conversations.admin import rule_summary
from conversations.models import Rule, Topic
from tests.conversations.helpers import make_business_hours, rows_post
from tests.factories import make_entry_point, make_inbox, make_user

pytestmark = pytest.mark.django_db

ADD = "admin:conversations_rule_add"


def row_errors(row) -> str:
    return " ".join(message for messages in row.errors.values() for message in messages)


def change_url(rule):
    return reverse("admin:conversations_rule_change", args=[rule.pk])


def test_every_condition_and_action_row_is_saved_onto_the_rule(admin_client):
    messaging = Channel.objects.get(kind=Channel.Kind.MESSAGING)
    entry_point = make_entry_point()
    inbox, vip = make_inbox(name="Support"), make_inbox(name="VIP")
    hours = make_business_hours("Europe/Berlin")
    agent = make_user(first_name="Ada")
    topic = Topic.objects.create(name="Refunds")

    response = admin_client.post(
        reverse(ADD),
        rows_post(
            [
                ("channel", "is", {"channel": messaging.pk}),
                ("entry_point", "is", {"entry_point": entry_point.pk}),
                ("inbox", "is", {"inbox": inbox.pk}),
                ("text", "whole_word", {"text": " refund , , money back "}),
                ("first_message", "first", {}),
                ("customer", "new", {}),
                ("hours", "outside", {"schedule": hours.pk}),
            ],
            [
                ("note", {"text": "Check the order."}),
                ("auto_reply", {"text": "We are on it."}),
                ("move", {"inbox": vip.pk}),
                ("assign", {"agent": agent.pk}),
                ("topic", {"topic": topic.pk}),
                ("close", {}),
            ],
            name="Everything",
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    rule = Rule.objects.get()
    assert (rule.channel, rule.entry_point, rule.inbox) == (messaging, entry_point, inbox)
    assert (rule.words, rule.words_match) == ("refund, money back", Rule.WordsMatch.WHOLE_WORD)
    assert rule.first_message_only and rule.customer_is_new
    assert (rule.hours, rule.business_hours) == (Rule.Hours.OUTSIDE, hours)
    assert (rule.note_text, rule.auto_reply_text) == ("Check the order.", "We are on it.")
    assert (rule.move_to_inbox, rule.assign_to, rule.add_topic, rule.close) == (vip, agent, topic, True)


def test_the_change_page_shows_the_saved_rule_as_rows(admin_client):
    vip = make_inbox(name="VIP")
    rule = Rule.objects.create(name="Refunds", words="refund", move_to_inbox=vip, close=True)

    form = admin_client.get(change_url(rule)).context["adminform"].form

    assert form.conditions.initial == [{"field": "text", "operator": "contains", "text": "refund"}]
    assert form.actions.initial == [{"field": "move", "inbox": vip.pk}, {"field": "close"}]
    page = admin_client.get(change_url(rule)).content.decode()
    assert '<option value="text" selected>Message text</option>' in page
    assert '<option value="move" selected>Move to inbox</option>' in page


def test_saving_the_rows_unchanged_keeps_the_rule_and_a_removed_row_clears_its_field(admin_client):
    vip = make_inbox(name="VIP")
    rule = Rule.objects.create(name="Refunds", words="refund", note_text="Seen", move_to_inbox=vip)
    data = rows_post(
        [("text", "contains", {"text": "refund"})],
        [("note", {"text": "Seen"}), ("move", {"inbox": vip.pk})],
        initial_conditions=1,
        initial_actions=2,
        name="Refunds",
    )

    assert admin_client.post(change_url(rule), data).status_code == 302
    rule.refresh_from_db()
    assert (rule.words, rule.note_text, rule.move_to_inbox) == ("refund", "Seen", vip)

    data["actions-0-DELETE"] = "on"
    assert admin_client.post(change_url(rule), data).status_code == 302
    rule.refresh_from_db()
    assert (rule.note_text, rule.move_to_inbox) == ("", vip)


def test_blank_rows_are_ignored(admin_client):
    data = rows_post(
        [("text", "contains", {"text": "refund"}), ("", "", {"text": ""})],
        [("", {}), ("close", {})],
    )

    assert admin_client.post(reverse(ADD), data).status_code == 302
    assert Rule.objects.get().close


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (("channel", "is", {}), "Choose the Channel."),
        (("text", "contains", {"text": "  "}), "Write at least one word or phrase"),
        (("text", "contains", {"text": ", ,"}), "The words have only commas"),
        (("text", "", {"text": "refund"}), "Choose how Message text is checked"),
        (("channel", "outside", {"channel": "1"}), "Channel can't be checked that way; choose “is”."),
        (("", "", {"text": "refund"}), "Choose what this condition checks, or remove the row."),
        (("weather", "is", {}), "“weather” is not a condition Rules know."),
    ],
)
def test_a_bad_condition_row_is_refused_on_its_row_and_every_row_comes_back(admin_client, condition, message):
    vip = make_inbox(name="VIP")
    data = rows_post(
        [("customer", "new", {}), condition],
        [("note", {"text": "Keep this note"}), ("move", {"inbox": vip.pk})],
        name="Keep my name",
    )

    response = admin_client.post(reverse(ADD), data)

    assert response.status_code == 200
    assert not Rule.objects.exists()
    form = response.context["adminform"].form
    assert message in row_errors(form.conditions.forms[1])
    assert not form.conditions.forms[0].errors
    page = response.content.decode()
    assert "Some conditions or actions need fixing" in page
    assert escape(message) in page
    # Nothing typed is lost: the other rows and the name come back as they were.
    assert 'value="Keep my name"' in page
    assert "Keep this note</textarea>" in page
    assert f'<option value="{vip.pk}" selected>VIP</option>' in page


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (("note", {"text": ""}), "Write the note."),
        (("auto_reply", {"text": " "}), "Write the auto-reply."),
        (("move", {}), "Choose the inbox."),
        (("assign", {}), "Choose the agent."),
        (("topic", {}), "Choose the topic."),
    ],
)
def test_a_bad_action_row_is_refused_on_its_row(admin_client, action, message):
    response = admin_client.post(reverse(ADD), rows_post([("customer", "new", {})], [("close", {}), action]))

    assert response.status_code == 200
    assert message in row_errors(response.context["adminform"].form.actions.forms[1])
    assert not Rule.objects.exists()


def test_the_same_condition_twice_is_refused_on_the_second_row(admin_client):
    response = admin_client.post(
        reverse(ADD),
        rows_post([("text", "contains", {"text": "refund"}), ("text", "contains", {"text": "money"})], [("close", {})]),
    )

    assert response.status_code == 200
    assert "Message text is already in condition 1" in row_errors(
        response.context["adminform"].form.conditions.forms[1]
    )
    assert not Rule.objects.exists()


def test_a_bad_row_does_not_also_complain_that_the_rule_has_no_condition(admin_client):
    response = admin_client.post(reverse(ADD), rows_post([("channel", "is", {})], [("close", {})]))

    page = response.content.decode()
    assert "Choose the Channel." in page
    assert "Add at least one condition" not in page


def test_a_row_removed_before_saving_is_not_validated(admin_client):
    data = rows_post([("customer", "new", {}), ("channel", "is", {"DELETE": "on"})], [("close", {})])

    assert admin_client.post(reverse(ADD), data).status_code == 302
    assert Rule.objects.get().channel is None


def test_the_list_summary_and_dry_run_read_a_rule_saved_from_rows(admin_client):
    vip = make_inbox(name="VIP")
    admin_client.post(
        reverse(ADD),
        rows_post(
            [("text", "contains", {"text": "refund"}), ("hours", "outside", {})],
            [("move", {"inbox": vip.pk})],
            name="Refunds",
        ),
    )
    rule = Rule.objects.get()

    assert rule_summary(rule) == (
        "When a customer writes, if the text contains “refund” and it is outside business hours, then move it to VIP."
    )
    assert "move it to VIP" in admin_client.get(reverse("admin:conversations_rule_changelist")).content.decode()
    dry_run = admin_client.get(reverse("admin:conversations_rule_dry_run", args=[rule.pk]))
    assert dry_run.status_code == 200


def test_the_change_history_names_the_rows_that_changed(admin_client):
    rule = Rule.objects.create(name="Refunds", words="refund", close=True)
    data = rows_post(
        [("text", "contains", {"text": "refund, money"})], [("close", {})], 1, 1, name="Refunds", position="0"
    )

    admin_client.post(change_url(rule), data)

    from django.contrib.admin.models import LogEntry

    assert "conditions" in LogEntry.objects.get().get_change_message()
