"""Settings home: Instagram accounts that need an admin, and Meta deliveries that failed."""

from django.urls import reverse

from config.attention import AttentionItem, register

from .accounts import accounts_needing_attention
from .models import InstagramAccount, WebhookEvent


@register
def instagram_accounts(request):
    for account in accounts_needing_attention():
        needs_login = account.status == InstagramAccount.Status.NEEDS_REAUTHORIZATION
        yield AttentionItem(
            title=f"@{account.username} needs reauthorization"
            if needs_login
            else f"@{account.username}: webhooks are not subscribed",
            detail="Its messages are queued, not sent." if needs_login else "New messages do not arrive.",
            url=reverse("admin:meta_instagramaccount_start"),
            action="Reauthorize",
            tone="danger",
        )


@register
def failed_webhook_events(request):
    failed = WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).count()
    if failed:
        url = reverse("admin:meta_webhookevent_changelist")
        yield AttentionItem(
            title=f"{failed} webhook event{'s' if failed != 1 else ''} from Meta failed",
            detail="Their messages did not reach a conversation. Look at the error, then retry them.",
            url=f"{url}?status__exact={WebhookEvent.Status.FAILED}",
            action="Show failed events",
            tone="danger",
        )
