"""The Conversation SLA clock's periods."""

from django.db import models
from django.db.models import Q

from .timeline import Conversation, TimelineItem


class SlaPeriod(models.Model):
    """One wait of a customer for an agent's reply (the Conversation SLA clock).

    Started by a customer message when no agent reply is pending; satisfied by an
    agent's message (queued time); reopened if that message fails; stopped when
    the conversation closes. At most one is running per conversation.
    """

    class Kind(models.TextChoices):
        FIRST = "first", "First response"
        NEXT = "next", "Next response"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="sla_periods")
    inbox = models.ForeignKey("inbox.Inbox", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    satisfied_at = models.DateTimeField(null=True, blank=True)
    satisfied_by = models.ForeignKey(TimelineItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["inbox", "started_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(satisfied_at__isnull=True, stopped_at__isnull=True),
                name="one_running_sla_period_per_conversation",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} due {self.due_at:%Y-%m-%d %H:%M} in {self.conversation_id}"

    @property
    def running(self):
        return self.satisfied_at is None and self.stopped_at is None


class SlaReport(Conversation):
    """Settings › Conversation SLA report (a page, not a table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "Conversation SLA report"
        verbose_name_plural = "Conversation SLA report"
