"""Meta's side of the Messaging Channel: connected accounts and raw webhook deliveries."""

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone

from channels_app.fields import EncryptedTextField


class MetaConnection(models.Model):
    """What every connected Meta product has: its state, who added it and when."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_REAUTHORIZATION = "needs_reauthorization", "Needs reauthorization"
        NOT_SUBSCRIBED = "not_subscribed", "Webhooks not subscribed"
        REMOVED = "removed", "Removed"

    status = models.CharField(max_length=30, choices=Status.choices, default=Status.CONNECTED)
    status_reason = models.TextField(blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="Added By",
    )
    added_on = models.DateTimeField("Added On", default=timezone.now)

    class Meta:
        abstract = True

    # What the agent's page calls this kind of connection when none is there.
    product_noun = ""

    @property
    def sends_paused(self):
        return self.status in (self.Status.NEEDS_REAUTHORIZATION, self.Status.REMOVED)

    @property
    def described(self) -> str:
        """This connection as a sentence names it ("the account @acmeshoes")."""
        raise NotImplementedError


class InstagramAccount(MetaConnection):
    """An Instagram Professional account connected through a Facebook Page."""

    entry_point = models.OneToOneField(
        "channels_app.EntryPoint", on_delete=models.PROTECT, related_name="instagram_account"
    )
    page_id = models.CharField("Page ID", max_length=64, unique=True)
    page_name = models.CharField("Page Name", max_length=200)
    ig_user_id = models.CharField("Instagram user id", max_length=64, unique=True)
    username = models.CharField("Username", max_length=100)
    name = models.CharField(max_length=200, blank=True)
    profile_picture_url = models.URLField(max_length=1000, blank=True)
    page_access_token = EncryptedTextField(editable=False)
    convert_story_mentions = models.BooleanField(
        "Convert Story @mentions to Conversations",
        default=False,
        help_text="Warning: story mentions can create hundreds or thousands of conversations.",
    )

    class Meta:
        ordering = ["page_name"]
        verbose_name = "Instagram Messaging account"
        verbose_name_plural = "Instagram Messaging"
        db_table = "channels_app_instagramaccount"

    product_noun = "Instagram account"

    def __str__(self):
        return f"{self.page_name} (@{self.username})"

    @property
    def described(self) -> str:
        return f"the account @{self.username}"


class MessengerPage(MetaConnection):
    """A Facebook Page whose Messenger conversations are an Entry Point of the Messaging Channel."""

    entry_point = models.OneToOneField(
        "channels_app.EntryPoint", on_delete=models.PROTECT, related_name="messenger_page"
    )
    page_id = models.CharField("Page ID", max_length=64, unique=True)
    page_name = models.CharField("Page Name", max_length=200)
    page_access_token = EncryptedTextField(editable=False)

    class Meta:
        ordering = ["page_name"]
        verbose_name = "Messenger Page"
        verbose_name_plural = "Messenger"

    product_noun = "Messenger Page"

    def __str__(self):
        return self.page_name

    @property
    def described(self) -> str:
        return f"the Page {self.page_name}"


class WhatsAppNumber(MetaConnection):
    """A WhatsApp Business phone number (Cloud API) as an Entry Point of the Messaging Channel."""

    entry_point = models.OneToOneField(
        "channels_app.EntryPoint", on_delete=models.PROTECT, related_name="whatsapp_number"
    )
    phone_number_id = models.CharField("Phone number ID", max_length=64, unique=True)
    display_phone_number = models.CharField("Phone number", max_length=40)
    verified_name = models.CharField("Verified name", max_length=200, blank=True)
    waba_id = models.CharField("WABA ID", max_length=64)
    quality_rating = models.CharField("Quality rating", max_length=20, blank=True)
    messaging_limit_tier = models.CharField("Messaging limit tier", max_length=30, blank=True)
    access_token = EncryptedTextField(editable=False)

    class Meta:
        ordering = ["display_phone_number"]
        verbose_name = "WhatsApp number"
        verbose_name_plural = "WhatsApp"

    product_noun = "WhatsApp number"

    def __str__(self):
        name = self.display_phone_number
        return f"{name} ({self.verified_name})" if self.verified_name else name

    @property
    def described(self) -> str:
        return f"the WhatsApp number {self.display_phone_number}"


class WhatsAppTemplate(models.Model):
    """An approved message template of a WhatsApp Business Account, synced from Meta."""

    waba_id = models.CharField("WABA ID", max_length=64)
    template_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=20)
    category = models.CharField(max_length=30, blank=True)
    status = models.CharField(max_length=20, default="APPROVED")
    parameter_format = models.CharField(max_length=20, default="POSITIONAL")
    components = models.JSONField(default=list)
    # [{"component": "body", "name": "1", "example": "Ana"}, …]
    variables = models.JSONField(default=list)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "language"]
        verbose_name = "WhatsApp template"
        constraints = [
            models.UniqueConstraint(fields=["waba_id", "name", "language"], name="unique_whatsapp_template"),
        ]

    def __str__(self):
        return f"{self.name} ({self.language})"

    @property
    def body_text(self) -> str:
        for component in self.components:
            if isinstance(component, dict) and str(component.get("type", "")).upper() == "BODY":
                return str(component.get("text") or "")
        return ""


class AccountEvent(models.Model):
    """Things counted per account that do not become timeline items."""

    class Kind(models.TextChoices):
        IGNORED_STORY_MENTION = "ignored_story_mention", "Story mention (not converted)"
        OUTSIDE_ECHO = "outside_echo", "Message sent outside the app"

    account = models.ForeignKey(
        InstagramAccount, on_delete=models.CASCADE, related_name="events", null=True, blank=True
    )
    # Messenger Pages count the same things (echoes of other tools).
    messenger_page = models.ForeignKey(
        MessengerPage, on_delete=models.CASCADE, related_name="events", null=True, blank=True
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    external_id = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "channels_app_accountevent"
        indexes = [models.Index(fields=["account", "kind", "occurred_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "external_id"],
                condition=~Q(external_id=""),
                name="unique_account_event",
            ),
            models.UniqueConstraint(
                fields=["messenger_page", "kind", "external_id"],
                condition=~Q(external_id=""),
                name="unique_messenger_page_event",
            ),
        ]


class WebhookEvent(models.Model):
    """A raw webhook delivery from Meta, stored before we acknowledge it."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored"

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    object = models.CharField(max_length=40, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # When the workers' drainer (dispatch.py) handed it over; None: not yet.
    handed_over_at = models.DateTimeField(null=True, blank=True)
    # When the sweeper last handed it to the workers again (it waits between
    # tries so a backlog is not multiplied by duplicates).
    swept_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        db_table = "channels_app_webhookevent"
        indexes = [
            models.Index(fields=["status", "received_at"]),
            # The drainer's poll, many times a second: only rows not handed over yet.
            models.Index(
                fields=["id"],
                name="meta_webhook_to_hand_over",
                condition=Q(status="received", handed_over_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"Webhook {self.pk} ({self.status})"

    @classmethod
    def store(cls, object: str, body: str, status: str = Status.RECEIVED) -> None:
        """Store one delivery with a single INSERT, as the endpoint does for every request Meta sends.

        Written as SQL: building the model and saving it costs twice the CPU of the INSERT itself
        (~85 of ~170 µs), a tenth of the endpoint's time. Every column without a default is
        given here; `tests/meta/test_webhook.py` checks a stored row reads back whole."""
        table = connection.ops.quote_name(cls._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (received_at, object, body, status, attempts, last_error)"  # noqa: S608 (our own table name)
                " VALUES (%s, %s, %s, %s, 0, '')",
                [timezone.now(), object, body, status],
            )
