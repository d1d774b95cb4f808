from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from channels_app.fields import EncryptedTextField


class TwilioAccount(models.Model):
    """A Twilio account whose numbers we buy and use.

    REST calls authenticate with an API key (sid and secret) when one is given,
    since it can be revoked on its own, else with the auth token. The auth token
    is always needed: Twilio signs its webhook requests with it. The secrets
    are encrypted at rest.
    """

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_CREDENTIALS = "needs_credentials", "Credentials refused"
        ERROR = "error", "Error"

    account_sid = models.CharField("Account SID", max_length=34, unique=True)
    friendly_name = models.CharField(max_length=200, blank=True)
    auth_token = EncryptedTextField(help_text="Also what Twilio signs its webhook requests with.")
    api_key_sid = models.CharField("API key SID", max_length=34, blank=True)
    api_key_secret = EncryptedTextField("API key secret", blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONNECTED)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
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
        ordering = ["friendly_name", "account_sid"]
        verbose_name = "Twilio account"
        constraints = [
            models.CheckConstraint(condition=Q(account_sid__regex=r"^AC[0-9a-fA-F]{32}$"), name="twilio_account_sid"),
            models.CheckConstraint(condition=~Q(auth_token=""), name="twilio_account_has_auth_token"),
            models.CheckConstraint(
                condition=Q(api_key_sid="", api_key_secret="") | (~Q(api_key_sid="") & ~Q(api_key_secret="")),
                name="twilio_account_api_key_whole",
            ),
        ]

    def __str__(self):
        return self.friendly_name or self.account_sid

    def record_error(self, message: str, needs_credentials: bool = False) -> None:
        self.status = self.Status.NEEDS_CREDENTIALS if needs_credentials else self.Status.ERROR
        self.last_error = message
        self.last_error_at = timezone.now()
        self.save(update_fields=["status", "last_error", "last_error_at"])


class TwilioNumber(models.Model):
    """The Twilio side of a number we hold: which account owns it and what it can do."""

    phone_number = models.OneToOneField(
        "channels_app.PhoneNumber", on_delete=models.CASCADE, related_name="twilio_number"
    )
    account = models.ForeignKey(TwilioAccount, on_delete=models.PROTECT, related_name="numbers")
    number_sid = models.CharField("number SID", max_length=34, unique=True)
    sms = models.BooleanField("SMS", default=False)
    voice = models.BooleanField(default=False)
    mms = models.BooleanField("MMS", default=False)
    webhooks_configured_at = models.DateTimeField(
        null=True, blank=True, help_text="When Twilio was last told to send this number's messages and calls to us."
    )

    class Meta:
        ordering = ["phone_number__e164"]

    def __str__(self):
        return f"{self.phone_number.e164} ({self.number_sid})"


class TwilioWebhookEvent(models.Model):
    """A webhook request from Twilio, stored (form parameters as sent) before we answer it."""

    class Kind(models.TextChoices):
        SMS = "sms", "Incoming SMS"
        STATUS = "status", "SMS status"
        VOICE = "voice", "Incoming call"
        VOICE_STATUS = "voice_status", "Call status"
        RECORDING = "recording", "Recording"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    url = models.URLField(max_length=1000, help_text="The public URL Twilio signed.")
    params = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    message_sid = models.CharField("MessageSid", max_length=64, blank=True, db_index=True)
    call_sid = models.CharField("CallSid", max_length=64, blank=True, db_index=True)
    # What makes a delivery the same delivery again: the MessageSid of an
    # incoming SMS, MessageSid + status of a status callback, and so on. Calls'
    # TwiML requests are not deduplicated (one call asks several times).
    dedup_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "Twilio webhook event"
        indexes = [models.Index(fields=["status", "received_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "dedup_key"], condition=~Q(dedup_key=""), name="unique_twilio_webhook_delivery"
            )
        ]

    def save(self, *args, **kwargs):
        # PostgreSQL cannot store NUL in JSON text; a form value with %00 would
        # otherwise fail the insert (and the delivery). Keep it visible instead.
        self.params = {
            str(key).replace("\x00", "\ufffd"): str(value).replace("\x00", "\ufffd")
            for key, value in (self.params or {}).items()
        }
        super().save(*args, **kwargs)

    def __str__(self):
        return f"Twilio {self.get_kind_display()} {self.message_sid or self.call_sid} ({self.status})"


class SmsOptOut(models.Model):
    """A customer number that replied STOP (or a synonym) to an SMS Entry Point.

    Carriers and Twilio refuse our texts to it until it replies START; the row
    is deleted then. The keywords themselves are kept in SmsKeyword."""

    entry_point = models.ForeignKey("channels_app.EntryPoint", on_delete=models.CASCADE, related_name="sms_opt_outs")
    customer_number = models.CharField(max_length=32)
    keyword = models.CharField(max_length=20)
    opted_out_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "SMS opt-out"
        constraints = [
            models.UniqueConstraint(fields=["entry_point", "customer_number"], name="unique_sms_opt_out"),
        ]

    def __str__(self):
        return f"{self.customer_number} opted out of {self.entry_point}"


class SmsKeyword(models.Model):
    """Every STOP, START or HELP a customer texted, as a record of consent."""

    class Kind(models.TextChoices):
        OPT_OUT = "opt_out", "Opt-out (STOP)"
        OPT_IN = "opt_in", "Opt-in (START)"
        HELP = "help", "Help (HELP)"

    entry_point = models.ForeignKey("channels_app.EntryPoint", on_delete=models.CASCADE, related_name="sms_keywords")
    customer_number = models.CharField(max_length=32)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    keyword = models.CharField(max_length=20, help_text="The word as the customer sent it, upper-cased.")
    message_sid = models.CharField("MessageSid", max_length=64, unique=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "SMS keyword"
        indexes = [models.Index(fields=["entry_point", "customer_number", "received_at"])]


class Call(models.Model):
    """A phone call to or from one of our Voice Entry Points."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Status(models.TextChoices):
        # Twilio's CallStatus values.
        QUEUED = "queued", "Queued"
        RINGING = "ringing", "Ringing"
        IN_PROGRESS = "in-progress", "In progress"
        COMPLETED = "completed", "Completed"
        BUSY = "busy", "Busy"
        FAILED = "failed", "Failed"
        NO_ANSWER = "no-answer", "No answer"
        CANCELED = "canceled", "Canceled"

    call_sid = models.CharField("CallSid", max_length=64, unique=True)
    entry_point = models.ForeignKey("channels_app.EntryPoint", on_delete=models.PROTECT, related_name="calls")
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.INBOUND)
    from_number = models.CharField("from", max_length=32)
    to_number = models.CharField("to", max_length=32)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RINGING)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="answered_calls"
    )
    started_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField("duration (seconds)", null=True, blank=True)
    voicemail = models.BooleanField(
        default=False, help_text="The caller left a message instead of talking to an agent."
    )
    recording = models.FileField(upload_to="calls/%Y/%m/", blank=True)
    recording_sid = models.CharField("RecordingSid", max_length=64, blank=True)
    recording_duration = models.PositiveIntegerField("recording duration (seconds)", null=True, blank=True)
    transcription_text = models.TextField(blank=True)
    # The core's Conversation this call is part of; an id (not a foreign key)
    # while the core is restructured.
    conversation_id = models.IntegerField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="call_ends_after_it_starts",
            ),
        ]

    def __str__(self):
        return f"Call {self.call_sid} from {self.from_number}"
