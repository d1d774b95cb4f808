"""Settings home: Entry Points whose conversations reach no Inbox."""

from django.urls import reverse

from config.attention import AttentionItem, register

from .models import EntryPoint


@register
def entry_points_routed_nowhere(request):
    unrouted = (
        EntryPoint.objects.filter(active=True, routing_exception__isnull=True, channel__default_inbox__isnull=True)
        .select_related("channel")
        .order_by("channel__kind", "display_name")
    )
    for entry_point in unrouted:
        yield AttentionItem(
            title=f"{entry_point.display_name} reaches no Inbox",
            detail=f"The {entry_point.channel} Channel has no default Inbox and this Entry Point has no Exception; "
            "its conversations wait unrouted.",
            url=reverse("admin:channels_app_entrypointsettings_change", args=[entry_point.channel_id]),
            action="Choose an Inbox",
            tone="danger",
        )
    for entry_point in EntryPoint.objects.filter(active=False).select_related("channel").order_by("display_name"):
        yield AttentionItem(
            title=f"{entry_point.display_name} is paused",
            detail="Its messages are kept but not routed until it is resumed.",
            url=reverse("admin:channels_app_entrypointsettings_change", args=[entry_point.channel_id]),
            action="Review",
        )
