"""People and the ids they have at each Entry Point."""

from django.db import models
from django.utils import timezone


class Customer(models.Model):
    """A person. One timeline across all their conversations."""

    name = models.CharField(max_length=200, blank=True)
    username = models.CharField(max_length=100, blank=True)
    profile_picture = models.FileField(upload_to="profiles/", blank=True)
    profile_picture_url = models.URLField(max_length=2000, blank=True)
    profile_fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

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


class CustomerIdentity(models.Model):
    """The id a customer has at one Entry Point (for Instagram: the IGSID)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    entry_point = models.ForeignKey("channels_app.EntryPoint", on_delete=models.PROTECT, related_name="identities")
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
