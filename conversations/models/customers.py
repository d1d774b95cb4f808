"""People, the ids they have at each Entry Point, what we know about them, and merges."""

from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

# How long an agent can undo a merge of two customers.
MERGE_UNDO_WINDOW = timedelta(days=1)


class Customer(models.Model):
    """A person. One timeline across all their conversations."""

    name = models.CharField(max_length=200, blank=True)
    username = models.CharField(max_length=100, blank=True)
    profile_picture = models.FileField(upload_to="profiles/", blank=True)
    profile_picture_url = models.URLField(max_length=2000, blank=True)
    profile_fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # What agents know about the person, shown on every conversation of theirs.
    emails = models.JSONField(default=list, blank=True)
    phones = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)
    # Values of the admins' CustomerAttribute definitions, by key.
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["name"]), models.Index(fields=["username"])]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        if self.name:
            return self.name
        if self.username:
            return f"@{self.username}"
        return f"Customer {self.pk}"

    @property
    def first_name(self):
        return self.name.split()[0] if self.name.strip() else ""


class CustomerIdentity(models.Model):
    """The id a customer has at one Entry Point (for Instagram: the IGSID)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    # No index of its own: the unique (entry_point, external_id) index serves look-ups by Entry Point, and a
    # second one let PostgreSQL, on tables not analyzed yet, find one identity by reading all at the Entry Point.
    entry_point = models.ForeignKey(
        "channels_app.EntryPoint", on_delete=models.PROTECT, related_name="identities", db_index=False
    )
    external_id = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    # What the provider told about how the customer came (a Messenger referral: m.me link, ad).
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "customer identities"
        constraints = [
            models.UniqueConstraint(fields=["entry_point", "external_id"], name="unique_customer_identity"),
        ]

    def __str__(self):
        return f"{self.external_id} at {self.entry_point}"

    # How providers name where a customer came from (Messenger's referral `source`), in the card's words.
    REFERRAL_SOURCES = {
        "SHORTLINK": "a link (m.me)",
        "ADS": "an ad",
        "CUSTOMER_CHAT_PLUGIN": "the website's chat plugin",
        "DISCOVER_TAB": "Messenger's Discover tab",
        "MESSENGER_CODE": "a Messenger code",
    }

    @property
    def referral_summary(self) -> str:
        """The customer's latest referral in plain words ("an ad “Spring sale” · ref summer"), or ""."""
        referral = self.attributes.get("referral") if isinstance(self.attributes, dict) else None
        if not isinstance(referral, dict):
            return ""
        source = str(referral.get("source") or "")
        parts = [self.REFERRAL_SOURCES.get(source.upper(), source.replace("_", " ").lower())]
        if referral.get("ad_title"):
            parts[0] = f"{parts[0]} “{referral['ad_title']}”".strip()
        elif referral.get("ad_id"):
            parts[0] = f"{parts[0]} (ad {referral['ad_id']})".strip()
        if referral.get("ref"):
            parts.append(f"ref {referral['ref']}")
        if referral.get("referer_uri"):
            parts.append(str(referral["referer_uri"]))
        return " · ".join(part for part in parts if part)


class CustomerAttribute(models.Model):
    """A detail admins want agents to keep about every customer (plan, order number, VIP)."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        YES_NO = "yes_no", "Yes / no"

    key = models.CharField(
        max_length=50,
        unique=True,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", "Lowercase letters, digits and _; a letter first.")],
        help_text="Where the value is kept, e.g. plan or order_number. Changing it hides values kept so far.",
    )
    label = models.CharField(max_length=100, help_text="What agents see, e.g. Plan.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]
        verbose_name = "customer attribute"

    def __str__(self):
        return self.label


class CustomerMerge(models.Model):
    """Two customers became one; what moved is kept so an agent can undo it exactly for a day."""

    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges")
    # The merged customer's row as it was (it is deleted), to be recreated with its id.
    merged_customer_id = models.BigIntegerField()
    merged_customer = models.JSONField()
    # The survivor's details before the merge added the other's emails, phones, notes and attributes.
    survivor_before = models.JSONField()
    identity_ids = models.JSONField(default=list)
    conversation_ids = models.JSONField(default=list)
    reaction_ids = models.JSONField(default=list)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    merged_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-merged_at"]
        indexes = [models.Index(fields=["survivor", "merged_at"])]

    def __str__(self):
        return f"{self.merged_customer.get('name') or self.merged_customer_id} into {self.survivor}"

    @property
    def merged_name(self):
        data = self.merged_customer
        if data.get("name"):
            return data["name"]
        if data.get("username"):
            return f"@{data['username']}"
        return f"Customer {self.merged_customer_id}"

    @property
    def undo_until(self):
        return self.merged_at + MERGE_UNDO_WINDOW

    def can_undo(self, now=None):
        now = now or timezone.now()
        return self.undone_at is None and now - self.merged_at < MERGE_UNDO_WINDOW
