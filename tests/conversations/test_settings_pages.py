"""Settings › Business Hours, Rules and the Conversation SLA report."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from channels_app.models import Channel
from conversations.models import BusinessHours, Rule, RuleFiring
from tests.conversations.helpers import make_business_hours, make_instagram_conversation, receive, rows_post
from tests.factories import make_inbox, make_user

PAGES = [
    "admin:conversations_businesshours_changelist",
    "admin:conversations_businesshours_add",
    "admin:conversations_rule_changelist",
    "admin:conversations_rule_add",
    "admin:conversations_slareport_changelist",
]


@pytest.mark.parametrize("name", PAGES)
def test_admin_opens_each_page(admin_client, name):
    assert admin_client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", PAGES)
def test_agent_is_refused(client, db, name):
    client.force_login(make_user())

    response = client.get(reverse(name))

    assert response.status_code in (302, 403)
    assert b"SLA met" not in response.content


def business_hours_post(**overrides):
    data = {
        "name": "Berlin office",
        "timezone": "Europe/Berlin",
        "auto_reply_text": "We are closed.",
        "intervals-TOTAL_FORMS": "2",
        "intervals-INITIAL_FORMS": "0",
        "intervals-0-weekday": "0",
        "intervals-0-opens_at": "09:00",
        "intervals-0-closes_at": "13:00",
        "intervals-1-weekday": "0",
        "intervals-1-opens_at": "14:00",
        "intervals-1-closes_at": "18:00",
        "holidays-TOTAL_FORMS": "1",
        "holidays-INITIAL_FORMS": "0",
        "holidays-0-date": "2026-12-25",
        "holidays-0-name": "Christmas Day",
    }
    data.update(overrides)
    return data


def test_valid_business_hours_are_saved_with_intervals_and_holidays(admin_client):
    response = admin_client.post(reverse("admin:conversations_businesshours_add"), business_hours_post())

    assert response.status_code == 302
    saved = BusinessHours.objects.get()
    assert saved.intervals.count() == 2
    assert saved.holidays.get().name == "Christmas Day"


def test_closing_before_opening_is_refused_with_a_clear_error(admin_client):
    response = admin_client.post(
        reverse("admin:conversations_businesshours_add"),
        business_hours_post(**{"intervals-1-opens_at": "18:00", "intervals-1-closes_at": "08:00"}),
    )

    assert response.status_code == 200
    assert "Closes at 08:00, before it opens at 18:00" in response.content.decode()
    assert not BusinessHours.objects.exists()


def test_closing_at_midnight_is_allowed(admin_client):
    response = admin_client.post(
        reverse("admin:conversations_businesshours_add"),
        business_hours_post(**{"intervals-1-opens_at": "18:00", "intervals-1-closes_at": "00:00"}),
    )

    assert response.status_code == 302


def test_overlapping_intervals_are_refused(admin_client):
    response = admin_client.post(
        reverse("admin:conversations_businesshours_add"),
        business_hours_post(**{"intervals-1-opens_at": "12:00"}),
    )

    assert response.status_code == 200
    assert "Monday: 09:00–13:00 overlaps 12:00–18:00" in response.content.decode()
    assert not BusinessHours.objects.exists()


def test_an_unknown_timezone_is_refused(admin_client):
    response = admin_client.post(
        reverse("admin:conversations_businesshours_add"), business_hours_post(timezone="Mars/Olympus")
    )

    assert response.status_code == 200
    assert "Unknown timezone “Mars/Olympus”" in response.content.decode()


def rule_post(conditions=(("text", "contains", {"text": "refund"}),), actions=(("note", {"text": "Check first."}),)):
    return rows_post(conditions, actions, name="Refunds", position="10", active="on")


def test_a_rule_with_a_condition_and_an_action_is_saved(admin_client):
    response = admin_client.post(reverse("admin:conversations_rule_add"), rule_post())

    assert response.status_code == 302
    assert Rule.objects.get().word_list() == ["refund"]


def test_a_rule_without_a_condition_is_refused(admin_client):
    response = admin_client.post(reverse("admin:conversations_rule_add"), rule_post(conditions=()))

    assert response.status_code == 200
    assert "Add at least one condition" in response.content.decode()
    assert not Rule.objects.exists()


def test_a_rule_without_an_action_is_refused(admin_client):
    response = admin_client.post(reverse("admin:conversations_rule_add"), rule_post(actions=()))

    assert response.status_code == 200
    assert "Add at least one action" in response.content.decode()
    assert not Rule.objects.exists()


def test_rule_list_shows_how_often_each_rule_fired_in_the_last_7_days(admin_client):
    rule = Rule.objects.create(
        name="Tag everything", channel=Channel.objects.get(kind=Channel.Kind.MESSAGING), note_text="seen"
    )
    conversation = make_instagram_conversation(make_inbox())
    now = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=datetime.UTC)
    with time_machine.travel(now - datetime.timedelta(days=8), tick=False):
        receive(conversation, "old")
    with time_machine.travel(now - datetime.timedelta(days=1), tick=False):
        receive(conversation, "recent 1")
        receive(conversation, "recent 2")

    with time_machine.travel(now, tick=False):
        response = admin_client.get(reverse("admin:conversations_rule_changelist"))

    assert RuleFiring.objects.filter(rule=rule).count() == 3
    assert response.context["cl"].result_list.get(pk=rule.pk).fired_total == 2
    assert '<td class="field-fired_last_7_days">2</td>' in response.content.decode()


def test_inbox_settings_choose_business_hours(admin_client):
    inbox = make_inbox(name="Support")
    hours = make_business_hours("Europe/Berlin")

    response = admin_client.post(
        reverse("admin:inbox_inbox_change", args=[inbox.pk]),
        {
            "name": "Support",
            "channel": inbox.channel_id,
            "first_response_minutes": "30",
            "next_response_minutes": "60",
            "sla_business_hours_only": "on",
            "business_hours": hours.pk,
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    inbox.refresh_from_db()
    assert (inbox.business_hours, inbox.sla_business_hours_only) == (hours, True)


def test_the_holiday_calendar_shows_the_year_with_its_holidays_marked(admin_client):
    hours = make_business_hours("Europe/Berlin")
    hours.holidays.create(date=datetime.date(2027, 12, 25), name="Christmas Day")
    hours.holidays.create(date=datetime.date(2026, 1, 1), name="New Year")
    url = reverse("admin:conversations_businesshours_change", args=[hours.pk])

    page = admin_client.get(f"{url}?holidays_year=2027").content.decode()

    assert "<caption>December 2027</caption>" in page
    assert '<span class="holiday-day is-holiday" title="Christmas Day">25' in page
    assert "New Year</span>" not in page  # another year's holiday is not on this calendar
    assert '2027 <span class="quiet">· 1 holiday</span>' in page
    assert 'href="?holidays_year=2028"' in page
    # The list below stays the form: every holiday, with its name.
    assert 'value="New Year"' in page and 'value="Christmas Day"' in page
