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
