import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from channels_app.fields import EncryptedTextField
from channels_app.models import EntryPoint


def new_forwarding_token():
    # Lower-case letters and digits only: the token is an email local part and
    # some mail systems lower-case addresses on the way.
    return secrets.token_hex(12)


class EmailAddress(models.Model):
    """An email address customers write to: the Email Channel's Entry Point.

    Mail reaches us by forwarding to `<forwarding_token>@MAIL_FORWARDING_DOMAIN`
    (or to the address itself when its MX points at our receiver), or by IMAP
    polling when the IMAP fields are filled in.
    """

    entry_point = models.OneToOneField(EntryPoint, on_delete=models.PROTECT, related_name="email_address")
    address = models.EmailField(unique=True, help_text="The address customers write to, e.g. support@acme.com.")
    display_name = models.CharField(
        max_length=200, blank=True, help_text='Shown in outgoing mail, e.g. "Acme Support".'
    )
    from_address = models.EmailField(blank=True, help_text="Sends from this address instead, when set.")
    signature = models.TextField(blank=True, help_text="Appended to every reply.")
    forwarding_token = models.CharField(max_length=64, unique=True, default=new_forwarding_token, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    imap_host = models.CharField("IMAP host", max_length=255, blank=True)
    imap_port = models.PositiveIntegerField("IMAP port", default=993)
    imap_use_tls = models.BooleanField("IMAP over TLS", default=True)
    imap_username = models.CharField("IMAP username", max_length=255, blank=True)
    imap_password = EncryptedTextField("IMAP password", blank=True)
    imap_mailbox = models.CharField("IMAP mailbox", max_length=255, default="INBOX")
    # UIDs are only comparable within one UIDVALIDITY; when the server changes
    # it the poller starts over (the unique constraint keeps re-imports out).
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    imap_last_uid = models.BigIntegerField(default=0, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    # Removed in Settings: mail for it is refused, replies can't go out; conversations stay.
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["address"]
        verbose_name = "email address"
        verbose_name_plural = "email addresses"
        constraints = [
            models.CheckConstraint(condition=Q(address=Lower("address")), name="email_address_lower"),
        ]

    def __str__(self):
        return self.address

    def save(self, *args, **kwargs):
        self.address = self.address.strip().lower()
        super().save(*args, **kwargs)

    @property
    def forwarding_address(self) -> str:
        return f"{self.forwarding_token}@{settings.MAIL_FORWARDING_DOMAIN}"

    @property
    def sender_address(self) -> str:
        return self.from_address or self.address

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    @property
    def uses_imap(self) -> bool:
        return bool(self.imap_host and self.imap_username)


class InboundEmail(models.Model):
    """One received message for one of our addresses, stored raw before anything reads it."""

    class Via(models.TextChoices):
        SMTP = "smtp", "SMTP"
        IMAP = "imap", "IMAP"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored"

    email_address = models.ForeignKey(
        EmailAddress, on_delete=models.PROTECT, null=True, blank=True, related_name="inbound_emails"
    )
    raw = models.BinaryField()
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    via = models.CharField(max_length=10, choices=Via.choices)
    envelope_sender = models.CharField(max_length=998, blank=True)
    envelope_recipients = models.JSONField(default=list, blank=True)
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    swept_at = models.DateTimeField(null=True, blank=True, help_text="When the sweeper last re-enqueued it.")
    imap_mailbox = models.CharField(max_length=255, blank=True)
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_uid = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # A message polled twice (a crash between storing and marking \Seen) is stored once.
            models.UniqueConstraint(
                fields=["email_address", "imap_mailbox", "imap_uidvalidity", "imap_uid"],
                condition=Q(imap_uid__isnull=False),
                name="inbound_email_unique_imap_message",
            ),
            models.CheckConstraint(
                condition=~Q(via="imap") | Q(imap_uid__isnull=False, email_address__isnull=False),
                name="inbound_email_imap_has_uid",
            ),
        ]

    def __str__(self):
        return f"{self.get_via_display()} {self.message_id or self.pk} ({self.get_status_display()})"


class SentEmail(models.Model):
    """The Message-ID of a reply we sent, so the customer's answer threads back to its conversation."""

    message_id = models.CharField(max_length=998, unique=True)
    entry_point = models.ForeignKey(EntryPoint, on_delete=models.CASCADE, related_name="sent_emails")
    item_id = models.BigIntegerField(null=True, blank=True, help_text="The timeline item sent.")
    conversation_id = models.BigIntegerField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.message_id
