"""Business-hours time calculations: pure functions of a schedule and a moment."""

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

UTC = datetime.UTC
# How far ahead to look for open hours before giving up on a schedule that is
# (almost) never open; the due time is then counted on the wall clock.
SEARCH_DAYS = 400


@dataclass(frozen=True)
class Schedule:
    """Weekly open intervals in a timezone, minus holiday dates.

    `weekly[weekday]` holds (opens, closes) local times; closes == 00:00 means
    midnight at the end of that day.
    """

    tz: ZoneInfo
    weekly: tuple[tuple[tuple[datetime.time, datetime.time], ...], ...]
    holidays: frozenset[datetime.date] = field(default_factory=frozenset)

    @classmethod
    def build(cls, tz_name, intervals, holidays=()):
        """From (weekday, opens, closes) triples (Monday = 0) and holiday dates."""
        weekly = [[] for _ in range(7)]
        for weekday, opens, closes in intervals:
            weekly[weekday].append((opens, closes))
        return cls(
            tz=ZoneInfo(tz_name),
            weekly=tuple(tuple(sorted(day)) for day in weekly),
            holidays=frozenset(holidays),
        )

    @property
    def ever_open(self):
        return any(self.weekly)

    def spans(self, day: datetime.date) -> list[tuple[datetime.datetime, datetime.datetime]]:
        """The open spans of a local date, as UTC datetimes (so DST changes count real time)."""
        if day in self.holidays:
            return []
        spans = []
        for opens, closes in self.weekly[day.weekday()]:
            start = datetime.datetime.combine(day, opens, tzinfo=self.tz).astimezone(UTC)
            end_day = day + datetime.timedelta(days=1) if closes == datetime.time(0, 0) else day
            end = datetime.datetime.combine(end_day, closes, tzinfo=self.tz).astimezone(UTC)
            if end > start:
                spans.append((start, end))
        return spans


def is_open(schedule: Schedule | None, moment: datetime.datetime) -> bool:
    """Whether the schedule is open at that moment. No schedule means always open."""
    if schedule is None:
        return True
    moment = moment.astimezone(UTC)
    local_day = moment.astimezone(schedule.tz).date()
    return any(start <= moment < end for start, end in schedule.spans(local_day))


def next_opening(schedule: Schedule, moment: datetime.datetime) -> datetime.datetime | None:
    """The moment itself if open, else when the schedule opens next (None if not within a year)."""
    moment = moment.astimezone(UTC)
    day = moment.astimezone(schedule.tz).date()
    for offset in range(SEARCH_DAYS):
        for start, end in schedule.spans(day + datetime.timedelta(days=offset)):
            if end > moment:
                return max(start, moment)
    return None


def due_at(start: datetime.datetime, minutes: int, schedule: Schedule | None = None) -> datetime.datetime:
    """When a reply is due: `minutes` after `start`, counting only open hours if a schedule is given.

    Arithmetic happens in UTC, so a target that spans a DST change counts the
    real minutes that pass. Holidays count as closed all day. A schedule that
    is never open falls back to the wall clock, so nothing is due never.
    """
    start = start.astimezone(UTC)
    target = datetime.timedelta(minutes=minutes)
    if schedule is None or not schedule.ever_open or minutes <= 0:
        return start + target
    remaining = target
    first_day = start.astimezone(schedule.tz).date()
    for offset in range(SEARCH_DAYS):
        for span_start, span_end in schedule.spans(first_day + datetime.timedelta(days=offset)):
            if span_end <= start:
                continue
            begin = max(span_start, start)
            available = span_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
    return start + target
