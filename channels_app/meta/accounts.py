"""Connecting, reconnecting and removing Instagram accounts."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Channel, EntryPoint
from conversations import outbound
from conversations.models import OutboundMessage
from inbox.models import User

from . import oauth
from .graph import GraphError
from .models import InstagramAccount

logger = logging.getLogger(__name__)

DEVELOPMENT_SITE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Connected:
    account: InstagramAccount
    created: bool
    subscribe_error: str = ""
    # The account's status before this login: "" when it is new.
    previous_status: str = ""
    # Replies that waited for this account and go out now.
    resumed: int = 0

    @property
    def verb(self) -> str:
        """What this login did to the account, in the admin's words."""
        if self.created:
            return "added"
        if self.previous_status == InstagramAccount.Status.REMOVED:
            return "added again"
        return "reauthorized"


def connect_accounts(admin, pages: list[oauth.PageChoice]) -> list[Connected]:
    """Make each chosen Page's Instagram account an Entry Point of the Messaging Channel.

    An account connected before gets the new token and its paused sends resume.
    Each Page is subscribed to our webhooks; if Meta refuses, the account is
    still saved, marked "Webhooks not subscribed", with Meta's message.
    """
    results = []
    for page in pages:
        if not page.eligible:
            continue
        subscribe_error = ""
        try:
            oauth.subscribe_page(page.page_id, page.page_token)
        except GraphError as error:
            subscribe_error = str(error)
            logger.warning("Page %s not subscribed to webhooks: %s", page.page_id, error)
        results.append(_save_account(admin, page, subscribe_error))
    return results


@transaction.atomic
def _save_account(admin, page: oauth.PageChoice, subscribe_error: str) -> Connected:
    status = InstagramAccount.Status.NOT_SUBSCRIBED if subscribe_error else InstagramAccount.Status.CONNECTED
    account = (
        InstagramAccount.objects.select_for_update().filter(ig_user_id=page.ig_user_id).first()
        or InstagramAccount.objects.select_for_update().filter(page_id=page.page_id).first()
    )
    if account is not None:
        previous_status = account.status
        account.page_id = page.page_id
        account.page_name = page.page_name
        account.ig_user_id = page.ig_user_id
        account.username = page.ig_username
        account.name = page.ig_name
        account.profile_picture_url = page.ig_picture_url
        account.page_access_token = page.page_token
        account.status = status
        account.status_reason = subscribe_error
        account.save()
        EntryPoint.objects.filter(pk=account.entry_point_id).update(active=True, display_name=f"@{page.ig_username}")
        queued = OutboundMessage.objects.filter(
            entry_point_id=account.entry_point_id, status=OutboundMessage.Status.QUEUED
        )
        # Paused sends wait from the moment the token failed: they go now, with the new token.
        resumed = queued.update(next_attempt_at=timezone.now())
        if resumed:
            outbound.enqueue_drain(account.entry_point_id)
        return Connected(account, False, subscribe_error, previous_status, resumed)

    entry_point, _ = EntryPoint.objects.update_or_create(
        kind=EntryPoint.Kind.INSTAGRAM,
        external_id=page.ig_user_id,
        defaults={
            "channel": Channel.objects.get(kind=Channel.Kind.MESSAGING),
            "display_name": f"@{page.ig_username}",
            "active": True,
        },
    )
    account = InstagramAccount.objects.create(
        entry_point=entry_point,
        page_id=page.page_id,
        page_name=page.page_name,
        ig_user_id=page.ig_user_id,
        username=page.ig_username,
        name=page.ig_name,
        profile_picture_url=page.ig_picture_url,
        page_access_token=page.page_token,
        status=status,
        status_reason=subscribe_error,
        added_by=admin,
        added_on=timezone.now(),
    )
    return Connected(account, True, subscribe_error)


def remove_account(account: InstagramAccount) -> str:
    """Stop receiving and sending for the account; conversations and history stay.

    Returns Meta's error message if unsubscribing failed (it does not block removal).
    """
    error_message = ""
    try:
        oauth.unsubscribe_page(account.page_id, account.page_access_token)
    except GraphError as error:
        error_message = str(error)
        logger.warning("Page %s not unsubscribed: %s", account.page_id, error)
    with transaction.atomic():
        InstagramAccount.objects.filter(pk=account.pk).update(
            status=InstagramAccount.Status.REMOVED, status_reason="Removed in Settings"
        )
        EntryPoint.objects.filter(pk=account.entry_point_id).update(active=False)
        outbound.fail_queued(
            account.entry_point_id,
            f"Not sent: the account @{account.username} was removed in Settings. "
            "Retry once an admin has added it again.",
        )
    return error_message


def mark_needs_reauthorization(account: InstagramAccount, reason: str) -> None:
    """Meta refused the account's token: pause its sends (queued, not lost) until an admin reconnects it.

    The admins are told once per incident: only the call that moves the account
    into "Needs reauthorization" sends the email, however many sends fail after it.
    """
    started = (
        InstagramAccount.objects.filter(pk=account.pk)
        .exclude(status=InstagramAccount.Status.NEEDS_REAUTHORIZATION)
        .update(status=InstagramAccount.Status.NEEDS_REAUTHORIZATION, status_reason=reason)
    )
    account.status = InstagramAccount.Status.NEEDS_REAUTHORIZATION
    account.status_reason = reason
    if started:
        logger.warning("Instagram account %s needs reauthorization: %s", account.pk, reason)
        _tell_admins(account, reason)


def _tell_admins(account: InstagramAccount, reason: str) -> None:
    recipients = list(
        User.objects.filter(is_active=True, role=User.Role.ADMIN).exclude(email="").values_list("email", flat=True)
    )
    if not recipients:
        return
    # SITE_URL is required when DEBUG is off (config/settings.py); in development the runserver address.
    link = f"{settings.SITE_URL or DEVELOPMENT_SITE_URL}{reverse('admin:meta_instagramaccount_changelist')}"
    send_mail(
        subject=f"@{account.username} needs reauthorization",
        message=(
            f"Meta refused the access token of the Instagram account @{account.username} ({account.page_name}).\n"
            f"{reason}\n\nIts messages are queued, not lost. Open Settings › Channels › Instagram Messaging "
            f"and press Reauthorize on this account: {link}"
        ),
        from_email=None,
        recipient_list=recipients,
        fail_silently=True,
    )


def accounts_needing_attention():
    return InstagramAccount.objects.filter(
        status__in=[InstagramAccount.Status.NEEDS_REAUTHORIZATION, InstagramAccount.Status.NOT_SUBSCRIBED]
    ).order_by("page_name")
