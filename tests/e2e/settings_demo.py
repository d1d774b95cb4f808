"""A Settings installation with something on every page, for the browser test and the README screenshots."""

import datetime

from django.urls import reverse

from channels_app.mail.models import EmailAddress, InboundEmail
from channels_app.meta.models import InstagramAccount, WebhookEvent
from channels_app.models import Channel, EntryPoint
from conversations.models import BusinessHours, BusinessHoursInterval, Holiday, Rule
from inbox.demo import seed_demo
from inbox.models import Inbox, User


def seed_settings_demo() -> User:
    """The demo data (`make run`'s) plus what makes each Settings page show its features; returns the admin."""
    for kind in Channel.Kind.values:
        Channel.objects.get_or_create(kind=kind)
    seed_demo()
    admin = User.objects.get(email="admin@demo.test")
    hours = BusinessHours.objects.create(
        name="Office hours",
        timezone="Europe/Paris",
        auto_reply_text="Thanks for writing! We're back at 9:00 and will answer then.",
    )
    for weekday in range(5):
        BusinessHoursInterval.objects.create(
            business_hours=hours, weekday=weekday, opens_at=datetime.time(9), closes_at=datetime.time(12, 30)
        )
        BusinessHoursInterval.objects.create(
            business_hours=hours, weekday=weekday, opens_at=datetime.time(13, 30), closes_at=datetime.time(18)
        )
    BusinessHoursInterval.objects.create(
        business_hours=hours, weekday=5, opens_at=datetime.time(10), closes_at=datetime.time(14)
    )
    Holiday.objects.create(business_hours=hours, date=datetime.date(2026, 12, 25), name="Christmas")
    vip = Inbox.objects.get(name="VIP")
    Rule.objects.create(name="Refunds to VIP", position=1, words="refund, money back", move_to_inbox=vip)
    Rule.objects.create(
        name="After-hours note",
        position=2,
        hours=Rule.Hours.OUTSIDE,
        business_hours=hours,
        note_text="Arrived after hours.",
    )
    Inbox.objects.create(name="Returns", channel=Channel.objects.get(kind=Channel.Kind.EMAIL))
    email_entry_point = EntryPoint.objects.create(
        channel=Channel.objects.get(kind=Channel.Kind.EMAIL),
        kind=EntryPoint.Kind.EMAIL_ADDRESS,
        display_name="returns@acme.test",
        external_id="returns@acme.test",
    )
    address = EmailAddress.objects.create(
        entry_point=email_entry_point, address="returns@acme.test", display_name="Acme Returns", created_by=admin
    )
    InboundEmail.objects.create(
        email_address=address,
        raw=b"From: a@b.test\r\nSubject: hi\r\n\r\nhello",
        via="smtp",
        envelope_sender="a@b.test",
        status=InboundEmail.Status.FAILED,
        last_error="Could not parse the message",
    )
    WebhookEvent.objects.create(
        object="instagram",
        body='{"object": "instagram", "entry": []}',
        status=WebhookEvent.Status.FAILED,
        last_error="No Entry Point for recipient 1789",
    )
    WebhookEvent.objects.create(object="instagram", body='{"object": "instagram", "entry": []}', status="processed")
    sms = Channel.objects.get(kind=Channel.Kind.SMS)
    EntryPoint.objects.create(
        channel=sms, kind=EntryPoint.Kind.PHONE_NUMBER, display_name="+1 415 555 0101", external_id="+14155550101"
    )
    account = InstagramAccount.objects.first()
    if account is not None:
        InstagramAccount.objects.filter(pk=account.pk).update(status=InstagramAccount.Status.NEEDS_REAUTHORIZATION)
    return admin


def settings_pages(site, request) -> list[str]:
    """Every Settings page to visit: the navigation, each model's list and add page, and one change page."""
    groups, _ = site.settings_nav(request)
    urls = [reverse("admin:index")]
    urls += [item["url"] for group in groups for item in group["items"] if item["url"].startswith("/settings/")]
    for model, model_admin in site._registry.items():
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        if not model_admin.has_view_or_change_permission(request):
            continue
        urls.append(reverse(f"{info}_changelist"))
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{info}_add"))
        first = model_admin.get_queryset(request).order_by("pk").first()
        if first is not None and model_admin.has_view_or_change_permission(request, first):
            urls.append(reverse(f"{info}_change", args=[first.pk]))
    rule = Rule.objects.order_by("pk").first()
    urls.append(reverse("admin:conversations_rule_dry_run", args=[rule.pk]))
    return list(dict.fromkeys(urls))
