"""Business Hours: weekly schedules with holidays."""

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from conversations.schedule import Schedule


def validate_timezone_name(value):
    """A timezone must be an IANA name the server knows, e.g. Europe/Berlin."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"Unknown timezone “{value}”. Use an IANA name such as Europe/Berlin or America/New_York."
        ) from None


class BusinessHours(models.Model):
    """A named weekly schedule with holidays, used by an Inbox or an Entry Point."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone_name],
        help_text="IANA timezone the hours are in, e.g. Europe/Berlin or America/New_York.",
    )
    auto_reply_text = models.TextField(
        "outside-hours auto-reply",
        blank=True,
        help_text=(
            "Sent once to the first customer message of a conversation that arrives outside these hours. "
            "Leave empty to send nothing. An auto-reply never counts as an agent reply."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "Business Hours"
        verbose_name_plural = "Business Hours"

    def __str__(self):
        return self.name

    def as_schedule(self):
        """The plain schedule the time calculations in conversations.sla work on."""
        return Schedule.build(
            self.timezone,
            [(i.weekday, i.opens_at, i.closes_at) for i in self.intervals.all()],
            [h.date for h in self.holidays.all()],
        )


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class BusinessHoursInterval(models.Model):
    """Open from `opens_at` to `closes_at` on a weekday (closes at 00:00 means midnight)."""

    business_hours = models.ForeignKey(BusinessHours, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField("opens")
    closes_at = models.TimeField("closes", help_text="00:00 means midnight (end of the day).")

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name = "opening hours"
        verbose_name_plural = "Weekly hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="interval_weekday_valid"),
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")) | Q(closes_at=datetime.time(0, 0)),
                name="interval_closes_after_opens",
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"

    @property
    def closes_at_midnight(self):
        return self.closes_at == datetime.time(0, 0)

    def clean(self):
        if self.opens_at is None or self.closes_at is None:
            return
        if not self.closes_at_midnight and self.closes_at <= self.opens_at:
            raise ValidationError(
                {
                    "closes_at": (
                        f"Closes at {self.closes_at:%H:%M}, before it opens at {self.opens_at:%H:%M}. "
                        "Use 00:00 to close at midnight."
                    )
                }
            )


class Holiday(models.Model):
    """A date the schedule stays closed all day (in the schedule's timezone)."""

    business_hours = models.ForeignKey(BusinessHours, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["business_hours", "date"], name="unique_holiday_date")]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.name}".strip()
