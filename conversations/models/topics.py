"""Topics: labels on conversations, set by agents and by Rules."""

from django.db import models


class Topic(models.Model):
    """What a conversation is about (refund, shipping, bug): for filtering and reports."""

    name = models.CharField(max_length=50, unique=True)
    color = models.CharField(
        max_length=10,
        default="slate",
        choices=[(color, color.title()) for color in ("slate", "blue", "green", "amber", "red", "violet")],
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
