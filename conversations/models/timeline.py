"""Conversations and what happens in them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from . import change_feed
from .customers import Customer


class Conversation(models.Model):
    """One support case with a customer, in one Inbox."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WAITING = "waiting", "Waiting"
        CLOSED = "closed", "Closed"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="conversations")
    entry_point = models.ForeignKey("channels_app.EntryPoint", on_delete=models.PROTECT, related_name="conversations")
    # Null while unrouted: the Channel has no default Inbox or the Entry Point
    # is paused. The conversation is kept and shown to admins.
    inbox = models.ForeignKey(
        "inbox.Inbox", on_delete=models.PROTECT, null=True, blank=True, related_name="conversations"
    )
    unrouted_reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
    )
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    # Hidden from the open lists until then (or the customer's next message); the status is kept.
    snoozed_until = models.DateTimeField(null=True, blank=True, db_index=True)
    topics = models.ManyToManyField("Topic", blank=True, related_name="conversations")
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # The number of this conversation's latest change, in commit order
    # (`conversations.models.change_feed`); null from the change until it is
    # numbered after its commit, and the inbox's live updates count null as changed.
    change_seq = models.BigIntegerField(null=True, blank=True, db_index=True)
    # Counts changes to items already in the timeline (a delivery state, a stored
    # attachment, a reaction, an unsend). While it stays what an open page drew, the
    # page's live update only needs the items it does not have yet (`inbox.timeline`).
    timeline_rev = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-last_activity_at"]
        indexes = [
            models.Index(fields=["inbox", "status", "sla_due_at"]),
            # The inbox's "closed" list, newest first, deep pages included.
            models.Index(fields=["inbox", "status", "closed_at"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["customer", "opened_at"]),
        ]
        constraints = [
            # One conversation that is not closed per customer and entry point:
            # two workers racing on the first message cannot open two.
            models.UniqueConstraint(
                fields=["customer", "entry_point"],
                condition=~Q(status="closed"),
                name="one_active_conversation_per_customer_entry_point",
            ),
            models.CheckConstraint(
                condition=Q(status="closed", closed_at__isnull=False)
                | (~Q(status="closed") & Q(closed_at__isnull=True)),
                name="closed_conversation_has_closed_at",
            ),
        ]

    def __str__(self):
        return f"Conversation {self.pk} with {self.customer}"

    @property
    def is_closed(self):
        return self.status == self.Status.CLOSED

    @classmethod
    def touch(cls, conversation_id, *, inbox_id=None, items_changed=True, **fields):
        """Mark a conversation changed, for the inbox's live updates (`conversations.models.change_feed`).

        A caller that knows the conversation's inbox passes `inbox_id`, which
        spares the live-update listener a look-up. However often it is called
        in one transaction, the conversation is announced once, after commit.
        A caller that only added items (or changed none) passes
        `items_changed=False`, so open pages fetch just the new items rather
        than redrawing the timeline; when in doubt, leave it True.
        """
        now = timezone.now()
        fields.setdefault("last_activity_at", now)
        if items_changed:
            fields["timeline_rev"] = models.F("timeline_rev") + 1
        cls.objects.filter(pk=conversation_id).update(updated_at=now, change_seq=None, **fields)
        change_feed.announce_on_commit([conversation_id], inbox_id=inbox_id)


class TimelineItem(models.Model):
    """Something that happened in a conversation."""

    class Kind(models.TextChoices):
        CUSTOMER_MESSAGE = "customer_message", "Customer message"
        AGENT_MESSAGE = "agent_message", "Agent message"
        AGENT_LIKE = "agent_like", "Agent like"
        NOTE = "note", "Note"
        AUTO_REPLY = "auto_reply", "Auto-reply"
        STORY_MENTION = "story_mention", "Story mention"
        STORY_REPLY = "story_reply", "Story reply"
        STATUS_CHANGE = "status_change", "Status change"
        OTHER_AUTOMATION = "other_automation", "Sent outside the app"
        CALL = "call", "Phone call"

    class Direction(models.TextChoices):
        INBOUND = "in", "From the customer"
        OUTBOUND = "out", "To the customer"
        INTERNAL = "internal", "Internal"

    class Delivery(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="items")
    entry_point = models.ForeignKey("channels_app.EntryPoint", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(blank=True)
    # Meta's message id (mid) for messages; unique per entry point so a
    # redelivered event adds nothing.
    external_id = models.CharField(max_length=255, null=True, blank=True)
    # When it happened (Meta's timestamp for inbound events).
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivery_status = models.CharField(max_length=10, choices=Delivery.choices, blank=True)
    failure_reason = models.TextField(blank=True)
    deleted_by_customer = models.BooleanField(default=False)
    unsupported = models.BooleanField(default=False)
    reply_to = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    story_url = models.URLField(max_length=2000, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["conversation", "occurred_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["entry_point", "external_id"],
                condition=Q(external_id__isnull=False),
                name="unique_item_external_id_per_entry_point",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} in {self.conversation_id}"

    @property
    def counts_as_agent_reply(self):
        """Only an agent's real message satisfies the Conversation SLA."""
        return self.kind == self.Kind.AGENT_MESSAGE and self.delivery_status != self.Delivery.FAILED


class Attachment(models.Model):
    """A file in a timeline item, stored by the app (providers' links expire)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Downloading"
        STORED = "stored", "Stored"
        FAILED = "failed", "Could not be downloaded"

    item = models.ForeignKey(TimelineItem, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(max_length=20)
    original_url = models.URLField(max_length=2000, blank=True)
    # The name the customer gave it (shown on downloads) and an email's inline cid.
    filename = models.CharField(max_length=255, blank=True)
    content_id = models.CharField(max_length=255, blank=True)
    file = models.FileField(upload_to="attachments/%Y/%m/", blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)

    def __str__(self):
        return f"{self.kind} attachment of item {self.item_id}"


class CustomerReaction(models.Model):
    """A reaction from the customer, kept for the record, not shown (Meta's limitation)."""

    entry_point = models.ForeignKey("channels_app.EntryPoint", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="reactions")
    message_external_id = models.CharField(max_length=255)
    action = models.CharField(max_length=10)
    reaction = models.CharField(max_length=20, blank=True)
    emoji = models.CharField(max_length=20, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Meta redelivers webhooks: the same reaction at the same moment is stored once.
            models.UniqueConstraint(
                fields=["entry_point", "customer", "message_external_id", "action", "occurred_at"],
                name="unique_customer_reaction",
            )
        ]
