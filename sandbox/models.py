from django.db import models
from django.utils import timezone


class SandboxToken(models.Model):
    """A user access token the sandbox issued through its Facebook Login stand-in."""

    token = models.CharField(max_length=100, unique=True)
    scopes = models.JSONField(default=list)
    page_ids = models.JSONField(default=list)
    # The WhatsApp Business Accounts shared in Embedded Signup (a business token).
    waba_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)


class SandboxCode(models.Model):
    """An authorization code from the dialog, exchanged once for a token."""

    code = models.CharField(max_length=100, unique=True)
    scopes = models.JSONField(default=list)
    page_ids = models.JSONField(default=list)
    waba_ids = models.JSONField(default=list)
    used = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)


class SandboxPage(models.Model):
    """What the sandbox remembers of a Page: webhook subscription, failure mode, token state."""

    class Failure(models.TextChoices):
        NONE = "", "Answer normally"
        RATE_LIMIT = "rate_limit", "Rate limit (code 4)"
        WINDOW = "window", "Outside the messaging window (code 10 / 2018278)"
        UNAVAILABLE = "unavailable", "Person unavailable (code 551)"
        TOKEN = "token", "Invalid token (code 190)"
        SERVER = "server", "Server error (HTTP 500)"

    page_id = models.CharField(max_length=64, unique=True)
    subscribed = models.BooleanField(default=False)
    failure = models.CharField(max_length=20, choices=Failure.choices, blank=True)
    token_expired = models.BooleanField(default=False)


class SandboxWhatsAppNumber(models.Model):
    """What the sandbox remembers of a WhatsApp number: the failure its Cloud API plays."""

    class Failure(models.TextChoices):
        NONE = "", "Answer normally"
        REENGAGEMENT = "131047", "Re-engagement required: more than 24 hours passed (131047)"
        UNDELIVERABLE = "131026", "Message undeliverable (131026)"

    phone_number_id = models.CharField(max_length=64, unique=True)
    failure = models.CharField(max_length=10, choices=Failure.choices, blank=True)


class SandboxWaba(models.Model):
    """A WhatsApp Business Account's webhook subscription in the sandbox."""

    waba_id = models.CharField(max_length=64, unique=True)
    subscribed = models.BooleanField(default=False)


class SandboxSend(models.Model):
    """A Send API call the sandbox accepted: what the customer receives.

    `page_id` is the Page (Instagram, Messenger) or the phone number ID (WhatsApp) that sent it."""

    page_id = models.CharField(max_length=64)
    recipient_id = models.CharField(max_length=64)
    message_id = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20)  # text, attachment, reaction, template
    text = models.TextField(blank=True)
    reacted_to = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class SandboxCustomerMessage(models.Model):
    """What a simulated customer sent, for the simulator's view of the thread."""

    ig_id = models.CharField(max_length=64)
    igsid = models.CharField(max_length=64)
    mid = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20)  # text, image, story_mention, story_reply, reaction
    text = models.TextField(blank=True)
    deleted = models.BooleanField(default=False)
    body = models.TextField(help_text="The signed webhook body, for replays.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class SandboxTwilioNumber(models.Model):
    """A number the sandbox's Twilio sold: where its texts and calls are posted."""

    sid = models.CharField(max_length=34, unique=True)
    account_sid = models.CharField(max_length=34)
    e164 = models.CharField(max_length=16, unique=True)
    sms_url = models.URLField(max_length=500, blank=True)
    voice_url = models.URLField(max_length=500, blank=True)
    status_callback = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)


class SandboxSms(models.Model):
    """A text through the sandbox's Twilio: sent by the app (outbound) or by the simulated customer (inbound)."""

    sid = models.CharField(max_length=34, unique=True)
    direction = models.CharField(max_length=10)  # inbound / outbound
    from_number = models.CharField(max_length=16)
    to_number = models.CharField(max_length=16)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=20, default="queued")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class SandboxTwilioSettings(models.Model):
    """Failures the sandbox's Twilio plays, toggled from the simulator (one row)."""

    undelivered = models.BooleanField(default=False, help_text="Texts end undelivered with 30003.")
    suspended = models.BooleanField(default=False, help_text="Every API call is refused with 20003.")

    @classmethod
    def current(cls):
        return cls.objects.get_or_create(pk=1)[0]


class SandboxWhatsAppUpload(models.Model):
    """A file the app uploaded to the Cloud API stand-in (POST /{phone-number-id}/media), sent by its id."""

    media_id = models.CharField(max_length=32, unique=True)
    phone_number_id = models.CharField(max_length=64)
    mime_type = models.CharField(max_length=150)
    filename = models.CharField(max_length=255, blank=True)
    content = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
