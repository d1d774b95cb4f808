"""Settings home: received mail that failed, and addresses whose IMAP polling fails."""

from django.urls import reverse

from config.attention import AttentionItem, register

from .models import EmailAddress, InboundEmail


@register
def failed_inbound_mail(request):
    failed = InboundEmail.objects.filter(status=InboundEmail.Status.FAILED).count()
    if failed:
        url = reverse("admin:mail_inboundemail_changelist")
        yield AttentionItem(
            title=f"{failed} received email{'s' if failed != 1 else ''} failed",
            detail="They did not reach a conversation. Look at the error, then retry them.",
            url=f"{url}?status__exact={InboundEmail.Status.FAILED}",
            action="Show failed mail",
            tone="danger",
        )


@register
def failing_mailboxes(request):
    for address in EmailAddress.objects.exclude(last_error="").order_by("address"):
        yield AttentionItem(
            title=f"{address.address}: mail cannot be fetched",
            detail=address.last_error.splitlines()[0][:160],
            url=reverse("admin:mail_emailaddress_change", args=[address.pk]),
            action="Check IMAP settings",
            tone="danger",
        )
