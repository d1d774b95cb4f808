"""Settings home: Inboxes nobody works."""

from django.db.models import Count
from django.urls import reverse

from config.attention import AttentionItem, register

from .models import Inbox


@register
def inboxes_without_members(request):
    empty = Inbox.objects.annotate(member_total=Count("memberships")).filter(member_total=0).order_by("name")
    for inbox in empty:
        yield AttentionItem(
            title=f"{inbox.name} has no members",
            detail="Conversations routed here are offered to nobody.",
            url=reverse("admin:inbox_inbox_change", args=[inbox.pk]),
            action="Add members",
        )
