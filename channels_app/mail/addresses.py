"""Removing an email address in Settings, and adding it again.

Removing keeps every conversation and message: the Entry Point stops routing,
mail for the address is refused (SMTP 550; a provider's webhook keeps it as
"for none of our addresses"), IMAP polling stops, and replies still queued fail
with the reason so the agent sees why (Retry works once it is added again).
"""

from django.db import transaction
from django.utils import timezone

from channels_app.models import EntryPoint
from conversations import outbound

from .models import EmailAddress


def remove_address(email_address: EmailAddress) -> int:
    """Remove the address; returns how many queued replies failed because of it."""
    with transaction.atomic():
        EmailAddress.objects.filter(pk=email_address.pk).update(removed_at=timezone.now())
        EntryPoint.objects.filter(pk=email_address.entry_point_id).update(active=False)
        failed = outbound.fail_queued(
            email_address.entry_point_id,
            f"Not sent: {email_address.address} was removed in Settings. Retry once an admin has added it again.",
        )
    email_address.refresh_from_db()
    return failed


def add_again(email_address: EmailAddress) -> None:
    """Undo a removal: mail is accepted and routed again, and replies can go out."""
    with transaction.atomic():
        EmailAddress.objects.filter(pk=email_address.pk).update(removed_at=None, last_error="")
        EntryPoint.objects.filter(pk=email_address.entry_point_id).update(active=True)
    email_address.refresh_from_db()
