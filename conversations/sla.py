"""Conversation SLA: when an agent must reply, and whether they did.

The time calculations (`Schedule`, `due_at`, `is_open`) and the report's
numbers (`summarize`) are pure functions of their arguments. The clock
functions (`start_clock`, `satisfy_clock`, `restore_clock`, `stop_clock`) keep
`Conversation.sla_due_at` and the `SlaPeriod` rows in step with what happened;
the receivers in `conversations.signals` call them.

Only an agent's message satisfies the SLA (queued time counts as the answer
time). Likes, notes, auto-replies and status changes never reach these
functions, so they leave the clock running.
"""

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

UTC = datetime.UTC
# How far ahead to look for open hours before giving up on a schedule that is
# (almost) never open; the due time is then counted on the wall clock.
SEARCH_DAYS = 400


# --- Business-hours time calculations ------------------------------------------------


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


# --- The report's numbers -----------------------------------------------------------


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
    from .models import Conversation, SlaPeriod

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


# --- The clock ------------------------------------------------------------------------


def sla_schedule(conversation) -> Schedule | None:
    """The schedule SLA minutes are counted in, or None for the wall clock."""
    from .business_hours import business_hours_for

    inbox = conversation.inbox
    if inbox is None or not inbox.sla_business_hours_only:
        return None
    business_hours = business_hours_for(conversation)
    return business_hours.as_schedule() if business_hours else None


def running_period(conversation_id):
    from .models import SlaPeriod

    return SlaPeriod.objects.filter(
        conversation_id=conversation_id, satisfied_at__isnull=True, stopped_at__isnull=True
    ).first()


def start_clock(conversation, item):
    """A customer message arrived: start the SLA unless an agent reply is already pending.

    The first-response target applies until the conversation's first agent
    reply, the next-response target after it. Unrouted or closed
    conversations have no target yet. Returns the running SlaPeriod or None.
    """
    from .models import Conversation, SlaPeriod

    with transaction.atomic():
        locked = Conversation.objects.select_for_update(of=("self",)).select_related("inbox").get(pk=conversation.pk)
        if locked.is_closed or locked.inbox is None:
            return None
        running = running_period(locked.pk)
        if running is not None:
            return running
        first = locked.first_response_at is None
        minutes = locked.inbox.first_response_minutes if first else locked.inbox.next_response_minutes
        started = item.occurred_at
        period = SlaPeriod.objects.create(
            conversation=locked,
            inbox=locked.inbox,
            kind=SlaPeriod.Kind.FIRST if first else SlaPeriod.Kind.NEXT,
            started_at=started,
            due_at=due_at(started, minutes, sla_schedule(locked)),
        )
        Conversation.touch(locked.pk, sla_due_at=period.due_at)
    conversation.sla_due_at = period.due_at
    return period


def satisfy_clock(conversation, item):
    """An agent's message was queued: that is the answer time. Stops the running period."""
    from .models import Conversation

    answered = item.created_at
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        period = running_period(locked.pk)
        if period is not None:
            period.satisfied_at = answered
            period.satisfied_by = item
            period.save(update_fields=["satisfied_at", "satisfied_by"])
        fields = {"sla_due_at": None}
        if locked.first_response_at is None:
            fields["first_response_at"] = answered
        Conversation.touch(locked.pk, **fields)
    conversation.sla_due_at = None
    conversation.first_response_at = fields.get("first_response_at", conversation.first_response_at)
    return period


def restore_clock(item):
    """An agent's message failed for good: it did not answer the customer.

    The period it satisfied runs again with its original due time, unless a
    later agent message (not failed) answered too. A period started after the
    failed reply is folded back into it: the customer has waited since before.
    """
    from .models import Conversation, SlaPeriod, TimelineItem

    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=item.conversation_id)
        period = SlaPeriod.objects.filter(satisfied_by=item).first()
        if period is None or conversation.is_closed:
            return None
        other_answer = (
            TimelineItem.objects.filter(
                conversation=conversation,
                kind=TimelineItem.Kind.AGENT_MESSAGE,
                created_at__gte=period.started_at,
            )
            .exclude(pk=item.pk)
            .exclude(delivery_status=TimelineItem.Delivery.FAILED)
            .order_by("created_at", "id")
            .first()
        )
        fields = {}
        if other_answer is not None:
            period.satisfied_at = other_answer.created_at
            period.satisfied_by = other_answer
            period.save(update_fields=["satisfied_at", "satisfied_by"])
        else:
            SlaPeriod.objects.filter(
                conversation=conversation, satisfied_at__isnull=True, stopped_at__isnull=True
            ).delete()
            period.satisfied_at = None
            period.satisfied_by = None
            period.save(update_fields=["satisfied_at", "satisfied_by"])
            fields["sla_due_at"] = period.due_at
        if period.kind == SlaPeriod.Kind.FIRST:
            fields["first_response_at"] = period.satisfied_at
        if fields:
            Conversation.touch(conversation.pk, **fields)
    return period


def stop_clock(conversation):
    """The conversation was closed: nobody owes a reply any more."""
    from .models import Conversation

    now = timezone.now()
    with transaction.atomic():
        period = running_period(conversation.pk)
        if period is not None:
            period.stopped_at = now
            period.save(update_fields=["stopped_at"])
        Conversation.touch(conversation.pk, sla_due_at=None)
    conversation.sla_due_at = None
    return period


def overdue_count(inbox=None, now=None) -> int:
    """Conversations whose reply is overdue right now."""
    from .models import Conversation

    overdue = Conversation.objects.filter(sla_due_at__lt=now or timezone.now()).exclude(
        status=Conversation.Status.CLOSED
    )
    if inbox is not None:
        overdue = overdue.filter(inbox=inbox)
    return overdue.count()
