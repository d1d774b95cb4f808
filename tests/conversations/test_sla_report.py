"""The Conversation SLA report's numbers, from real SLA clocks."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from conversations import outbound
from conversations.sla import report as sla
from tests.conversations.helpers import make_instagram_conversation, receive
from tests.factories import make_inbox, make_user

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
DAY = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def answered_after(inbox, agent, start, minutes):
    conversation = make_instagram_conversation(inbox)
    with time_machine.travel(start, tick=False):
        conversation.opened_at = start
        conversation.save(update_fields=["opened_at"])
        receive(conversation)
    if minutes is not None:
        with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
            outbound.send_reply(conversation, agent, "Hello!")
    return conversation


@pytest.fixture
def inbox():
    inbox = make_inbox(name="Instagram")
    inbox.first_response_minutes = 30
    inbox.save()
    return inbox


def test_report_per_inbox_and_day(inbox):
    agent = make_user()
    for minutes in (10, 20, 40, 50):  # two in time, two late
        answered_after(inbox, agent, DAY, minutes)
    answered_after(inbox, agent, DAY, None)  # never answered: overdue at report time

    [row] = sla.report(days=7, now=DAY + datetime.timedelta(hours=5))

    assert (row.inbox, row.day, row.conversations, row.first_responses) == ("Instagram", DAY.date(), 5, 4)
    assert row.first_response_median == datetime.timedelta(minutes=30)
    assert row.first_response_p90 == datetime.timedelta(minutes=47)
    assert (row.met, row.missed, row.met_percent) == (2, 3, 40.0)


def test_report_leaves_out_days_before_the_period(inbox):
    answered_after(inbox, make_user(), DAY - datetime.timedelta(days=10), 5)

    assert sla.report(days=7, now=DAY) == []


def test_report_page_shows_the_numbers(admin_client, inbox):
    answered_after(inbox, make_user(), DAY, 10)

    with time_machine.travel(DAY + datetime.timedelta(hours=1), tick=False):
        response = admin_client.get(reverse("admin:conversations_slareport_changelist"), {"days": 7})

    page = response.content.decode()
    assert "Mon 2 Mar 2026" in page
    assert "10 min" in page
    assert "100.0%" in page


def test_report_page_empty_state(admin_client):
    response = admin_client.get(reverse("admin:conversations_slareport_changelist"))

    assert "No conversations in the last 14 days" in response.content.decode()
