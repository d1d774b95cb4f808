"""Connecting, reconnecting and removing Instagram accounts, Messenger Pages and WhatsApp numbers."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Channel, EntryPoint
from conversations import outbound
from conversations.models import OutboundMessage

from . import oauth, whatsapp_graph
from .graph import GraphError
from .models import InstagramAccount, MessengerPage, WhatsAppNumber, WhatsAppTemplate

logger = logging.getLogger(__name__)

DEVELOPMENT_SITE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Connected:
    account: InstagramAccount | MessengerPage | WhatsAppNumber
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
    _mark_removed(account, f"the account @{account.username}")
    return error_message


def _mark_removed(connection: InstagramAccount | MessengerPage | WhatsAppNumber, what: str) -> None:
    """Removed in Settings: the Entry Point stops routing, and what was still queued fails with the reason
    (Retry works once it is added again). The same for every Meta product."""
    model = type(connection)
    with transaction.atomic():
        model.objects.filter(pk=connection.pk).update(status=model.Status.REMOVED, status_reason="Removed in Settings")
        EntryPoint.objects.filter(pk=connection.entry_point_id).update(active=False)
        outbound.fail_queued(
            connection.entry_point_id,
            f"Not sent: {what} was removed in Settings. Retry once an admin has added it again.",
        )


def mark_needs_reauthorization(account: InstagramAccount | MessengerPage | WhatsAppNumber, reason: str) -> None:
    """Meta refused the account's token (or stopped its sending): pause its sends (queued, not lost) until an
    admin reconnects it. Instagram accounts, Messenger Pages and WhatsApp numbers alike.

    The admins are told once per incident: only the call that moves the account
    into "Needs reauthorization" sends the email, however many sends fail after it.
    """
    model = type(account)
    started = (
        model.objects.filter(pk=account.pk)
        .exclude(status=model.Status.NEEDS_REAUTHORIZATION)
        .update(status=model.Status.NEEDS_REAUTHORIZATION, status_reason=reason)
    )
    account.status = model.Status.NEEDS_REAUTHORIZATION
    account.status_reason = reason
    if started:
        logger.warning("%s %s needs reauthorization: %s", model._meta.verbose_name, account.pk, reason)
        _tell_admins(account, reason)


def _reauthorization_email(account, reason: str) -> tuple[str, str, str]:
    """(subject, what happened, where to fix it) for the admins, in each product's words."""
    if isinstance(account, MessengerPage):
        return (
            f"The Page {account.page_name} needs reauthorization for Messenger",
            f"Meta refused the access token of the Facebook Page {account.page_name} (Messenger).\n{reason}",
            "Settings › Messenger and press Reauthorize on this Page",
        )
    if isinstance(account, WhatsAppNumber):
        return (
            f"WhatsApp {account.display_phone_number} needs an admin",
            f"Meta stopped the sends of the WhatsApp number {account}.\n{reason}",
            "Settings › WhatsApp and add the number again (or fix the business account in Meta's WhatsApp Manager)",
        )
    return (
        f"@{account.username} needs reauthorization",
        f"Meta refused the access token of the Instagram account @{account.username} ({account.page_name}).\n{reason}",
        "Settings › Channels › Instagram Messaging and press Reauthorize on this account",
    )


def _tell_admins(account, reason: str) -> None:
    recipients = list(
        get_user_model()
        .objects.filter(is_active=True, role=get_user_model().Role.ADMIN)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return
    subject, what, where = _reauthorization_email(account, reason)
    # SITE_URL is required when DEBUG is off (config/settings.py); in development the runserver address.
    changelist = reverse(f"admin:meta_{account._meta.model_name}_changelist")
    link = f"{settings.SITE_URL or DEVELOPMENT_SITE_URL}{changelist}"
    send_mail(
        subject=subject,
        message=f"{what}\n\nIts messages are queued, not lost. Open {where}: {link}",
        from_email=None,
        recipient_list=recipients,
        fail_silently=True,
    )


def accounts_needing_attention():
    return InstagramAccount.objects.filter(
        status__in=[InstagramAccount.Status.NEEDS_REAUTHORIZATION, InstagramAccount.Status.NOT_SUBSCRIBED]
    ).order_by("page_name")


# --- Messenger Pages ------------------------------------------------------------


def connect_messenger_pages(admin, pages: list[oauth.PageChoice]) -> list[Connected]:
    """Make each chosen Page an Entry Point of the Messaging Channel (Messenger), subscribed to webhooks."""
    results = []
    for page in pages:
        subscribe_error = ""
        try:
            oauth.subscribe_page(page.page_id, page.page_token, oauth.MESSENGER_WEBHOOK_FIELDS)
        except GraphError as error:
            subscribe_error = str(error)
            logger.warning("Page %s not subscribed to Messenger webhooks: %s", page.page_id, error)
        results.append(_save_page(admin, page, subscribe_error))
    return results


@transaction.atomic
def _save_page(admin, page: oauth.PageChoice, subscribe_error: str) -> Connected:
    status = MessengerPage.Status.NOT_SUBSCRIBED if subscribe_error else MessengerPage.Status.CONNECTED
    entry_point, _ = EntryPoint.objects.update_or_create(
        kind=EntryPoint.Kind.MESSENGER,
        external_id=page.page_id,
        defaults={
            "channel": Channel.objects.get(kind=Channel.Kind.MESSAGING),
            "display_name": page.page_name,
            "active": True,
        },
    )
    existing = MessengerPage.objects.select_for_update().filter(page_id=page.page_id).first()
    fields = {
        "entry_point": entry_point,
        "page_name": page.page_name,
        "page_access_token": page.page_token,
        "status": status,
        "status_reason": subscribe_error,
    }
    if existing is not None:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()
        _resume(entry_point.pk)
        return Connected(existing, False, subscribe_error)
    created = MessengerPage.objects.create(page_id=page.page_id, added_by=admin, added_on=timezone.now(), **fields)
    return Connected(created, True, subscribe_error)


def _resume(entry_point_id: int) -> None:
    if OutboundMessage.objects.filter(entry_point_id=entry_point_id, status=OutboundMessage.Status.QUEUED).exists():
        outbound.enqueue_drain(entry_point_id)


def remove_messenger_page(page: MessengerPage) -> str:
    """Stop receiving and sending for the Page's Messenger; conversations and history stay."""
    error_message = ""
    try:
        oauth.unsubscribe_page(page.page_id, page.page_access_token)
    except GraphError as error:
        error_message = str(error)
        logger.warning("Page %s not unsubscribed: %s", page.page_id, error)
    _mark_removed(page, f"the Page {page.page_name}")
    return error_message


# --- WhatsApp numbers -------------------------------------------------------------


@dataclass(frozen=True)
class NumberChoice:
    """A business phone number found on a WhatsApp Business Account, with the token that reaches it."""

    waba_id: str
    phone_number_id: str
    display_phone_number: str
    verified_name: str
    quality_rating: str
    messaging_limit_tier: str
    token: str


def numbers_of(token: str, waba_id: str) -> list[NumberChoice]:
    """The WABA's numbers (GraphError when the token cannot read it)."""
    return [
        NumberChoice(
            waba_id=waba_id,
            phone_number_id=number.id,
            display_phone_number=number.display_phone_number,
            verified_name=number.verified_name,
            quality_rating=number.quality_rating,
            messaging_limit_tier=number.messaging_limit_tier,
            token=token,
        )
        for number in whatsapp_graph.phone_numbers(token, waba_id)
        if number.id
    ]


def connect_whatsapp_number(admin, choice: NumberChoice) -> Connected:
    """Subscribe the app to the WABA's webhooks and make the number an Entry Point of the Messaging Channel."""
    subscribe_error = ""
    try:
        if not whatsapp_graph.subscribe_app(choice.token, choice.waba_id):
            subscribe_error = "Meta did not confirm the subscription."
    except GraphError as error:
        subscribe_error = str(error)
        logger.warning("WABA %s not subscribed: %s", choice.waba_id, error)
    return _save_number(admin, choice, subscribe_error)


@transaction.atomic
def _save_number(admin, choice: NumberChoice, subscribe_error: str) -> Connected:
    status = WhatsAppNumber.Status.NOT_SUBSCRIBED if subscribe_error else WhatsAppNumber.Status.CONNECTED
    entry_point, _ = EntryPoint.objects.update_or_create(
        kind=EntryPoint.Kind.WHATSAPP,
        external_id=choice.phone_number_id,
        defaults={
            "channel": Channel.objects.get(kind=Channel.Kind.MESSAGING),
            "display_name": f"WhatsApp {choice.display_phone_number}",
            "active": True,
        },
    )
    fields = {
        "entry_point": entry_point,
        "display_phone_number": choice.display_phone_number,
        "verified_name": choice.verified_name,
        "waba_id": choice.waba_id,
        "quality_rating": choice.quality_rating,
        "messaging_limit_tier": choice.messaging_limit_tier,
        "access_token": choice.token,
        "status": status,
        "status_reason": subscribe_error,
    }
    existing = WhatsAppNumber.objects.select_for_update().filter(phone_number_id=choice.phone_number_id).first()
    if existing is not None:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()
        _resume(entry_point.pk)
        return Connected(existing, False, subscribe_error)
    number = WhatsAppNumber.objects.create(
        phone_number_id=choice.phone_number_id, added_by=admin, added_on=timezone.now(), **fields
    )
    return Connected(number, True, subscribe_error)


def remove_whatsapp_number(number: WhatsAppNumber) -> str:
    """Stop receiving and sending on the number; conversations stay. The WABA stays subscribed while
    another of its numbers is connected."""
    error_message = ""
    others = WhatsAppNumber.objects.filter(waba_id=number.waba_id).exclude(pk=number.pk)
    if not others.exclude(status=WhatsAppNumber.Status.REMOVED).exists():
        try:
            whatsapp_graph.unsubscribe_app(number.access_token, number.waba_id)
        except GraphError as error:
            error_message = str(error)
            logger.warning("WABA %s not unsubscribed: %s", number.waba_id, error)
    _mark_removed(number, f"the WhatsApp number {number.display_phone_number}")
    return error_message


def sync_templates(waba_id: str, token: str) -> int:
    """Replace the WABA's stored templates with Meta's approved ones; returns how many there are."""
    templates = whatsapp_graph.list_templates(token, waba_id)
    now = timezone.now()
    with transaction.atomic():
        kept = []
        for template in templates:
            row, _ = WhatsAppTemplate.objects.update_or_create(
                waba_id=waba_id,
                name=template.name,
                language=template.language,
                defaults={
                    "template_id": template.id,
                    "category": template.category,
                    "status": "APPROVED",
                    "parameter_format": template.parameter_format,
                    "components": list(template.components),
                    "variables": [
                        {"component": v.component, "name": v.name, "example": v.example} for v in template.variables
                    ],
                    "synced_at": now,
                },
            )
            kept.append(row.pk)
        WhatsAppTemplate.objects.filter(waba_id=waba_id).exclude(pk__in=kept).delete()
    return len(kept)


def sync_all_templates() -> dict[str, str]:
    """Sync the templates of every WABA with a connected number; per WABA how many, or Meta's refusal."""
    results = {}
    numbers = WhatsAppNumber.objects.filter(status=WhatsAppNumber.Status.CONNECTED).order_by("pk")
    for number in numbers:
        if number.waba_id in results:
            continue
        try:
            results[number.waba_id] = f"{sync_templates(number.waba_id, number.access_token)} approved"
        except GraphError as error:
            logger.warning("Templates of WABA %s not synced: %s", number.waba_id, error)
            results[number.waba_id] = f"refused: {error}"
    return results
