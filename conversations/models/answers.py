"""Answers: replies agents reuse, with variables filled for each customer."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Answer(models.Model):
    """A saved reply, for one Inbox or shared by all; `/` in the composer finds it."""

    title = models.CharField(max_length=100)
    body = models.TextField(
        help_text="Variables: {{customer.first_name}}, {{customer.name}}, {{agent.name}}, {{agent.first_name}}."
    )
    inbox = models.ForeignKey(
        "inbox.Inbox",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="answers",
        help_text="Empty: shared by every inbox.",
    )
    # Who wrote it: agents edit their own from the inbox; admins edit all in Settings.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="answers"
    )
    usage_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["inbox", "title"])]

    def __str__(self):
        return self.title
