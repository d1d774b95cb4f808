"""The Conversation SLA report's numbers (`summarize` is a pure function)."""

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass

from django.utils import timezone

from conversations.models import Conversation, SlaPeriod


@dataclass(frozen=True)
class PeriodFact:
    """One SLA period, as plain values for the report."""

    inbox: str
    conversation_id: int
    kind: str
    started_at: datetime.datetime
    due_at: datetime.datetime
    satisfied_at: datetime.datetime | None = None
    stopped_at: datetime.datetime | None = None

    def outcome(self, now: datetime.datetime) -> str:
        """'met', 'missed', or 'pending' (still running in time, or stopped by closing before due)."""
        if self.satisfied_at is not None:
            return "met" if self.satisfied_at <= self.due_at else "missed"
        end = self.stopped_at or now
        return "missed" if end > self.due_at else "pending"


@dataclass(frozen=True)
class ReportRow:
    inbox: str
    day: datetime.date
    conversations: int
    first_responses: int
    first_response_median: datetime.timedelta | None
    first_response_p90: datetime.timedelta | None
    met: int
    missed: int

    @property
    def met_percent(self) -> float | None:
        decided = self.met + self.missed
        return round(100 * self.met / decided, 1) if decided else None


def percentile(values, percent):
    """Linear-interpolated percentile (the same as numpy's default), None for no values."""
    values = sorted(values)
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    rank = (len(values) - 1) * percent / 100
    lower = int(rank)
    upper = min(lower + 1, len(values) - 1)
    return values[lower] + (values[upper] - values[lower]) * (rank - lower)


def summarize(conversations, periods, now, tz) -> list[ReportRow]:
    """Per inbox and local day: conversations opened, first-response time median and p90, SLA met.

    `conversations` are (inbox, opened_at) pairs; `periods` are PeriodFacts, each
    counted on the day it started. Periods still running in time, or stopped by
    closing before they were due, are neither met nor missed.
    """
    opened = defaultdict(int)
    for inbox, opened_at in conversations:
        opened[(inbox, opened_at.astimezone(tz).date())] += 1
    waits = defaultdict(list)
    outcomes = defaultdict(lambda: {"met": 0, "missed": 0, "pending": 0})
    for period in periods:
        key = (period.inbox, period.started_at.astimezone(tz).date())
        outcomes[key][period.outcome(now)] += 1
        if period.kind == "first" and period.satisfied_at is not None:
            waits[key].append(period.satisfied_at - period.started_at)
    rows = []
    for key in sorted(set(opened) | set(outcomes), key=lambda k: (k[0], k[1])):
        inbox, day = key
        key_waits = waits.get(key, [])
        rows.append(
            ReportRow(
                inbox=inbox,
                day=day,
                conversations=opened.get(key, 0),
                first_responses=len(key_waits),
                first_response_median=statistics.median(key_waits) if key_waits else None,
                first_response_p90=percentile(key_waits, 90),
                met=outcomes[key]["met"] if key in outcomes else 0,
                missed=outcomes[key]["missed"] if key in outcomes else 0,
            )
        )
    return rows


def report(days=14, inbox=None, now=None) -> list[ReportRow]:
    """The Settings report: the last `days` days (in the site's timezone), newest first."""
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    local_today = now.astimezone(tz).date()
    since = datetime.datetime.combine(local_today - datetime.timedelta(days=days - 1), datetime.time(0), tzinfo=tz)
    opened = Conversation.objects.filter(opened_at__gte=since, inbox__isnull=False)
    periods = SlaPeriod.objects.filter(started_at__gte=since, inbox__isnull=False)
    if inbox is not None:
        opened = opened.filter(inbox=inbox)
        periods = periods.filter(inbox=inbox)
    rows = summarize(
        opened.values_list("inbox__name", "opened_at"),
        [
            PeriodFact(
                inbox=p["inbox__name"],
                conversation_id=p["conversation_id"],
                kind=p["kind"],
                started_at=p["started_at"],
                due_at=p["due_at"],
                satisfied_at=p["satisfied_at"],
                stopped_at=p["stopped_at"],
            )
            for p in periods.values(
                "inbox__name", "conversation_id", "kind", "started_at", "due_at", "satisfied_at", "stopped_at"
            )
        ],
        now,
        tz,
    )
    return sorted(rows, key=lambda row: (-row.day.toordinal(), row.inbox))
