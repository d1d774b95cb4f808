"""Due times in business hours: pure functions, no database."""

import datetime
from zoneinfo import ZoneInfo

from conversations.schedule import Schedule, due_at, is_open
from conversations.sla.report import PeriodFact, percentile, summarize

UTC = datetime.UTC
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_9_TO_5 = [(day, datetime.time(9), datetime.time(17)) for day in range(5)]


def local(tz, *args):
    return datetime.datetime(*args, tzinfo=tz)


def test_without_schedule_the_target_counts_on_the_wall_clock():
    start = datetime.datetime(2026, 3, 6, 16, 0, tzinfo=UTC)

    assert due_at(start, 90) == datetime.datetime(2026, 3, 6, 17, 30, tzinfo=UTC)


def test_business_hours_skip_the_night_and_the_weekend():
    schedule = Schedule.build("America/New_York", WEEKDAYS_9_TO_5)
    friday_4pm = local(NEW_YORK, 2026, 2, 27, 16, 0)

    assert due_at(friday_4pm, 120, schedule) == local(NEW_YORK, 2026, 3, 2, 10, 0)


def test_a_message_before_opening_counts_from_opening():
    schedule = Schedule.build("America/New_York", WEEKDAYS_9_TO_5)

    assert due_at(local(NEW_YORK, 2026, 3, 2, 7, 15), 60, schedule) == local(NEW_YORK, 2026, 3, 2, 10, 0)


def test_the_same_moment_is_due_differently_in_different_timezones():
    start = datetime.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 16:00 in Berlin, 10:00 in New York

    in_berlin = due_at(start, 120, Schedule.build("Europe/Berlin", WEEKDAYS_9_TO_5))
    in_new_york = due_at(start, 120, Schedule.build("America/New_York", WEEKDAYS_9_TO_5))

    assert in_berlin == local(BERLIN, 2026, 3, 3, 10, 0)
    assert in_new_york == local(NEW_YORK, 2026, 3, 2, 12, 0)


def test_business_hours_keep_local_opening_times_across_a_dst_change():
    schedule = Schedule.build("America/New_York", WEEKDAYS_9_TO_5)
    friday_before_change = local(NEW_YORK, 2026, 3, 6, 16, 0)  # EST; clocks go forward on Sunday March 8

    due = due_at(friday_before_change, 120, schedule)

    assert due == local(NEW_YORK, 2026, 3, 9, 10, 0)
    assert due.astimezone(UTC) == datetime.datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


def test_the_short_day_of_a_dst_change_counts_its_real_hours():
    always_open = Schedule.build("Europe/Berlin", [(day, datetime.time(0), datetime.time(0)) for day in range(7)])
    sunday_midnight = local(BERLIN, 2026, 3, 29, 0, 0)  # this Sunday has 23 hours

    due = due_at(sunday_midnight, 24 * 60, always_open)

    assert due == local(BERLIN, 2026, 3, 30, 1, 0)


def test_holidays_are_closed_all_day():
    schedule = Schedule.build("Europe/Berlin", WEEKDAYS_9_TO_5, holidays=[datetime.date(2026, 4, 6)])
    good_friday_eve = local(BERLIN, 2026, 4, 2, 16, 30)  # Thursday; Friday 3rd is a normal day here

    assert due_at(good_friday_eve, 60, schedule) == local(BERLIN, 2026, 4, 3, 9, 30)
    assert due_at(local(BERLIN, 2026, 4, 3, 16, 30), 60, schedule) == local(BERLIN, 2026, 4, 7, 9, 30)


def test_an_interval_closing_at_midnight_runs_to_the_end_of_the_day():
    schedule = Schedule.build("UTC", [(0, datetime.time(20), datetime.time(0))])
    monday_2330 = datetime.datetime(2026, 3, 2, 23, 30, tzinfo=UTC)

    assert is_open(schedule, monday_2330)
    assert due_at(monday_2330, 45, schedule) == datetime.datetime(2026, 3, 9, 20, 15, tzinfo=UTC)


def test_is_open_respects_timezone_and_holidays():
    schedule = Schedule.build("Asia/Tokyo", WEEKDAYS_9_TO_5, holidays=[datetime.date(2026, 3, 20)])

    assert is_open(schedule, datetime.datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # 10:00 in Tokyo
    assert not is_open(schedule, datetime.datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # 21:00 in Tokyo
    assert not is_open(schedule, datetime.datetime(2026, 3, 20, 1, 0, tzinfo=UTC))  # holiday


def test_no_schedule_is_always_open():
    assert is_open(None, datetime.datetime(2026, 3, 1, 3, 0, tzinfo=UTC))


def test_a_schedule_that_never_opens_falls_back_to_the_wall_clock():
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    assert due_at(start, 30, Schedule.build("UTC", [])) == datetime.datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_percentile_interpolates_between_values():
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9.1
    assert percentile([], 90) is None
    assert percentile([7], 90) == 7


def _period(started, due, satisfied=None, stopped=None, kind="first", inbox="Instagram"):
    return PeriodFact(inbox, 1, kind, started, due, satisfied, stopped)


def test_summarize_counts_met_missed_and_leaves_pending_out():
    t = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    hour = datetime.timedelta(hours=1)
    periods = [
        _period(t, t + hour, satisfied=t + hour / 2),  # met
        _period(t, t + hour, satisfied=t + 2 * hour),  # missed
        _period(t, t + hour, stopped=t + 3 * hour),  # closed after due, unanswered: missed
        _period(t, t + hour, stopped=t + hour / 4),  # closed in time: neither
        _period(t, t + 5 * hour),  # still running in time: neither
    ]

    [row] = summarize([("Instagram", t), ("Instagram", t)], periods, now=t + 4 * hour, tz=UTC)

    assert (row.conversations, row.met, row.missed, row.met_percent) == (2, 1, 2, 33.3)
    assert row.first_responses == 2
    assert row.first_response_median == datetime.timedelta(minutes=75)


def test_summarize_groups_by_inbox_and_local_day():
    late = datetime.datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # already March 3rd in Berlin

    rows = summarize([("A", late), ("B", late)], [], now=late, tz=BERLIN)

    assert [(row.inbox, row.day) for row in rows] == [
        ("A", datetime.date(2026, 3, 3)),
        ("B", datetime.date(2026, 3, 3)),
    ]
    assert rows[0].met_percent is None
