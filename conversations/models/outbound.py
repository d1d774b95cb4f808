"""The outbound queue: what we send to customers, in order per Entry Point, and the send ledger."""

import uuid

from django.db import models
from django.utils import timezone


class OutboundMessage(models.Model):
    """One queued send; sent in order per Entry Point by the drainer (conversations.outbound)."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        ATTACHMENT = "attachment", "Attachment"
        REACTION = "reaction", "Reaction"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    entry_point = models.ForeignKey(
        "channels_app.EntryPoint", on_delete=models.PROTECT, related_name="outbound_messages"
    )
    item = models.OneToOneField("conversations.TimelineItem", on_delete=models.CASCADE, related_name="outbound")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # The customer's id at the Entry Point (IGSID, address, number).
    recipient_id = models.CharField(max_length=320)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["entry_point", "status", "id"])]

    def __str__(self):
        return f"Outbound {self.pk} ({self.status})"


class SendSlot(models.Model):
    """The limiter's ledger: one row per send taken from an Entry Point's budget."""

    entry_point = models.ForeignKey("channels_app.EntryPoint", on_delete=models.CASCADE, related_name="send_slots")
    taken_at = models.DateTimeField(default=timezone.now)
    outbound = models.ForeignKey(OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["entry_point", "taken_at"])]
