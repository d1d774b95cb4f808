"""Meta's events, applied through the core's inbound API.

Consumes the plain events of `parser`; the core knows nothing of Meta.
Echoes (messages the account sent, ours or another tool's), story mentions
and the Graph profile look-up are Meta's business and live here.
"""

import logging

from celery import current_app
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from channels_app.models import EntryPoint
from conversations import inbound
from conversations.inbound import IncomingAttachment, IncomingMessage, IncomingReaction
from conversations.models import Conversation, CustomerIdentity, OutboundMessage, TimelineItem

from . import parser
from .graph import GraphError
from .media import MediaError, fetch_media, file_name_for
from .models import AccountEvent, InstagramAccount, MessengerPage
from .profile import fetch_profile as graph_profile

logger = logging.getLogger(__name__)

UNSUPPORTED_TEXT = "The customer sent something Instagram does not pass on to other apps."
PROFILE_TASK = "channels_app.tasks.fetch_customer_profile"
DOWNLOAD_TASK = "channels_app.tasks.download_attachment"


def handle_event(entry_point: EntryPoint, event) -> str:
    """Apply one parsed event at an Entry Point; returns what happened, in a word or two."""
    handlers = {
        parser.InboundMessage: _message,
        parser.StoryMention: _story_mention,
        parser.InboundReaction: _reaction,
        parser.Echo: _echo,
        parser.EchoReaction: _echo_reaction,
        parser.MessageDeleted: _deleted,
        parser.UnsupportedMessage: _unsupported,
        parser.ReadReceipt: _read,
    }
    return handlers[type(event)](entry_point, event)


def _enqueue(task_name: str, object_id: int) -> None:
    try:
        current_app.send_task(task_name, args=[object_id])
    except Exception as error:
        logger.warning("%s for %s not enqueued: %s", task_name, object_id, error)


def _received(received: inbound.Received) -> str:
    """After the core stored a message: fetch a new customer's profile and the media, on commit."""
    if received.identity_created and received.identity_id is not None:
        transaction.on_commit(lambda pk=received.identity_id: _enqueue(PROFILE_TASK, pk))
    for attachment in received.attachments:
        if attachment.original_url and not attachment.file:
            transaction.on_commit(lambda pk=attachment.pk: _enqueue(DOWNLOAD_TASK, pk))
    return received.outcome


def _attachments(attachments) -> tuple[IncomingAttachment, ...]:
    return tuple(IncomingAttachment(a.kind, url=a.url) for a in attachments if a.url)


def _message(entry_point, event: parser.InboundMessage) -> str:
    metadata = {"quick_reply_payload": event.quick_reply_payload} if event.quick_reply_payload else {}
    if event.story_id:
        metadata["story_id"] = event.story_id
    attachments = _attachments(event.attachments)
    if event.story_url:
        attachments += (IncomingAttachment("story", url=event.story_url),)
    message = IncomingMessage(
        message_id=event.mid,
        customer_id=event.customer_id,
        occurred_at=event.occurred_at,
        text=event.text,
        kind=TimelineItem.Kind.STORY_REPLY if event.is_story_reply else TimelineItem.Kind.CUSTOMER_MESSAGE,
        story_url=event.story_url,
        reply_to_message_id=event.reply_to_mid or "",
        metadata=metadata,
        attachments=attachments,
    )
    return _received(inbound.receive_message(entry_point, message))


def _story_mention(entry_point, event: parser.StoryMention) -> str:
    account = InstagramAccount.objects.filter(entry_point=entry_point).first()
    if account is None or not account.convert_story_mentions:
        if account is not None:
            AccountEvent.objects.get_or_create(
                account=account,
                kind=AccountEvent.Kind.IGNORED_STORY_MENTION,
                external_id=event.mid,
                defaults={"occurred_at": event.occurred_at},
            )
        return "ignored story mention"
    message = IncomingMessage(
        message_id=event.mid,
        customer_id=event.customer_id,
        occurred_at=event.occurred_at,
        kind=TimelineItem.Kind.STORY_MENTION,
        story_url=event.url,
        attachments=(IncomingAttachment("story_mention", url=event.url),),
    )
    return _received(inbound.receive_message(entry_point, message))


def _reaction(entry_point, event: parser.InboundReaction) -> str:
    # Kept for the record; Instagram reactions are not timeline items.
    reaction = IncomingReaction(
        customer_id=event.customer_id,
        message_id=event.mid,
        action=event.action,
        occurred_at=event.occurred_at,
        reaction=event.reaction,
        emoji=event.emoji,
    )
    return inbound.receive_reaction(entry_point, reaction)


def _echo(entry_point, event: parser.Echo) -> str:
    if inbound.mark_ours_delivered(entry_point, event.mid):
        return "echo of ours"
    if _claim_in_flight_send(entry_point, event):
        return "echo of ours"
    return _outside_echo(entry_point, event)


def _claim_in_flight_send(entry_point, event: parser.Echo) -> bool:
    """An echo may overtake the Send API's answer: match it to our send still in flight."""
    in_flight = OutboundMessage.objects.select_for_update().filter(
        entry_point=entry_point,
        recipient_id=event.recipient_id,
        status=OutboundMessage.Status.SENDING,
        message_id="",
    )
    match = next((m for m in in_flight.order_by("id") if m.payload.get("text", "") == event.text), None)
    if match is None:
        return False
    match.message_id = event.mid
    match.save(update_fields=["message_id"])
    TimelineItem.objects.filter(pk=match.item_id).update(
        external_id=event.mid, delivery_status=TimelineItem.Delivery.DELIVERED
    )
    Conversation.touch(match.item.conversation_id)
    return True


def _echo_reaction(entry_point, event: parser.EchoReaction) -> str:
    """The account reacted to a customer's message: our like, or someone in the Instagram app."""
    ours = OutboundMessage.objects.select_for_update().filter(
        entry_point=entry_point,
        recipient_id=event.recipient_id,
        kind=OutboundMessage.Kind.REACTION,
        payload__message_id=event.mid,
    )
    in_flight = ours.filter(status=OutboundMessage.Status.SENDING, message_id="").order_by("id").first()
    if in_flight is not None:
        # Meta's answer to a reaction carries no message id of its own; recording the
        # reacted-to mid tells the drainer the like went out, so it is not sent twice.
        in_flight.message_id = event.mid
        in_flight.save(update_fields=["message_id"])
        return "echo of ours"
    if ours.exists():
        return "echo of ours"
    _count(
        entry_point,
        AccountEvent.Kind.OUTSIDE_ECHO,
        f"{event.action}:{event.mid}:{int(event.occurred_at.timestamp() * 1000)}",
        event.occurred_at,
    )
    return "outside reaction counted"


def _count(entry_point, kind, external_id, occurred_at) -> None:
    account = InstagramAccount.objects.filter(entry_point=entry_point).first()
    if account is not None:
        AccountEvent.objects.get_or_create(
            account=account, kind=kind, external_id=external_id, defaults={"occurred_at": occurred_at}
        )
        return
    page = MessengerPage.objects.filter(entry_point=entry_point).first()
    if page is not None:
        AccountEvent.objects.get_or_create(
            messenger_page=page, kind=kind, external_id=external_id, defaults={"occurred_at": occurred_at}
        )


def _outside_echo(entry_point, event: parser.Echo) -> str:
    """A message sent to the customer by another tool or by hand in the Instagram app."""
    _count(entry_point, AccountEvent.Kind.OUTSIDE_ECHO, event.mid, event.occurred_at)
    outcome, item = inbound.record_outside_message(
        entry_point,
        event.customer_id,
        event.mid,
        event.text,
        event.occurred_at,
        attachments=_attachments(event.attachments),
    )
    if item is not None:
        for attachment in item.attachments.all():
            transaction.on_commit(lambda pk=attachment.pk: _enqueue(DOWNLOAD_TASK, pk))
        return "outside echo shown"
    return "duplicate" if outcome == "duplicate" else "outside echo counted"


def _deleted(entry_point, event: parser.MessageDeleted) -> str:
    return inbound.receive_deletion(entry_point, event.customer_id, event.mid, event.occurred_at)


def _unsupported(entry_point, event: parser.UnsupportedMessage) -> str:
    message = IncomingMessage(
        message_id=event.mid,
        customer_id=event.customer_id,
        occurred_at=event.occurred_at,
        text=UNSUPPORTED_TEXT,
        unsupported=True,
    )
    return _received(inbound.receive_message(entry_point, message))


def _read(entry_point, event: parser.ReadReceipt) -> str:
    return inbound.receive_read(entry_point, event.sender_id, event.watermark or event.occurred_at, event.mid or "")


# --- profiles ----------------------------------------------------------------


def fetch_profile(identity_id: int) -> bool:
    """Fill in a customer's name, username and picture from Instagram. False: try again later."""
    identity = CustomerIdentity.objects.filter(pk=identity_id).select_related("customer", "entry_point").first()
    if identity is None:
        return True
    account = InstagramAccount.objects.filter(entry_point=identity.entry_point).first()
    if account is None:
        return True
    try:
        profile = graph_profile(account.page_access_token, identity.external_id)
    except GraphError as error:
        logger.warning("Profile of identity %s not fetched: %s", identity_id, error)
        return not error.worth_retrying
    save_profile(identity.customer, profile.name, profile.picture_url, username=profile.username)
    return True


def save_profile(customer, name: str, picture_url: str, username: str = "") -> None:
    """What a Meta profile look-up found: the name (and username), and the picture stored by us."""
    customer.name = name or customer.name
    customer.username = username or customer.username
    customer.profile_picture_url = picture_url
    customer.profile_fetched_at = timezone.now()
    if picture_url:
        try:
            content, _content_type = fetch_media(picture_url)
            customer.profile_picture.save(
                file_name_for(content, f"customer-{customer.pk}"),
                ContentFile(content),
                save=False,
            )
        except MediaError as error:
            logger.info("Profile picture of customer %s not stored: %s", customer.pk, error)
    customer.save()
    # Their inboxes with them: the live update then needs no look-up per conversation.
    for conversation_id, inbox_id in customer.conversations.values_list("pk", "inbox_id"):
        Conversation.touch(conversation_id, inbox_id=inbox_id)
