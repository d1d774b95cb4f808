"""WhatsApp Cloud API events (whatsapp_parser) applied through the core's inbound API.

Customers' messages of every type become timeline items (locations, contact
cards and tapped buttons as readable text), media is fetched through its media
id with the number's token (in a task: the id expires), the profile name names
the customer, and Meta's statuses become our delivery states.
"""

import logging
from urllib.parse import urlsplit

from django.core.files.base import ContentFile

from channels_app.models import EntryPoint
from conversations import inbound as core
from conversations import media_types
from conversations.inbound import IncomingAttachment, IncomingMessage, IncomingReaction
from conversations.models import Attachment, Conversation, Customer, TimelineItem

from . import inbound, whatsapp_graph
from . import whatsapp_parser as wp
from .graph import GraphError, graph_url
from .media import MediaError, fetch_media
from .models import WhatsAppNumber

logger = logging.getLogger(__name__)

UNSUPPORTED_TEXT = "The customer sent something WhatsApp does not pass on to other apps."
MEDIA_TASK = "channels_app.tasks.download_whatsapp_media"
DELIVERY_STATES = {
    "sent": TimelineItem.Delivery.SENT,
    "delivered": TimelineItem.Delivery.DELIVERED,
    "read": TimelineItem.Delivery.READ,
    "failed": TimelineItem.Delivery.FAILED,
}


def handle_event(entry_point: EntryPoint, event) -> str:
    if isinstance(event, wp.WhatsAppStatus):
        return _status(entry_point, event)
    if isinstance(event, wp.WhatsAppAccountError):
        return _account_error(entry_point, event)
    if event.kind == "reaction":
        return _reaction(entry_point, event)
    return _message(entry_point, event)


def media_address(media_id: str) -> str:
    """Where Meta keeps a customer's media object (its download URL is asked for when fetching)."""
    return graph_url(media_id)


def _text(event: wp.WhatsAppMessage) -> str:
    if event.kind == "unsupported":
        return UNSUPPORTED_TEXT
    if event.location is not None:
        place = event.location
        lines = [part for part in (place.name, place.address) if part]
        lines.append(f"https://maps.google.com/?q={place.latitude},{place.longitude}")
        if place.url:
            lines.append(place.url)
        return "📍 " + "\n".join(lines)
    if event.contacts:
        cards = []
        for card in event.contacts:
            details = ", ".join((*card.phones, *card.emails))
            cards.append(" · ".join(part for part in (card.name, card.organization, details) if part))
        return "Shared contact: " + "\n".join(cards)
    return event.text


def _message(entry_point, event: wp.WhatsAppMessage) -> str:
    metadata = {}
    if event.choice is not None:
        metadata["choice"] = {"kind": event.choice.kind, "id": event.choice.id, "title": event.choice.title}
    if event.forwarded:
        metadata["forwarded"] = True
    if event.referral:
        metadata["referral"] = event.referral
    if event.unsupported_type:
        metadata["unsupported_type"] = event.unsupported_type
    attachments = tuple(
        IncomingAttachment(
            "file" if a.kind == "document" else ("image" if a.kind == "sticker" else a.kind),
            url=media_address(a.media_id),
            filename=a.filename,
            content_type=a.mime_type,
        )
        for a in event.attachments
    )
    message = IncomingMessage(
        message_id=event.message_id,
        customer_id=event.customer_id,
        occurred_at=event.occurred_at,
        text=_text(event),
        reply_to_message_id=event.reply_to_message_id,
        metadata=metadata,
        attachments=attachments,
        customer_name=event.customer_name,
        unsupported=event.kind == "unsupported",
    )
    received = core.receive_message(entry_point, message)
    _name_customer(received, event.customer_name)
    for attachment in received.attachments:
        inbound.transaction.on_commit(lambda pk=attachment.pk: inbound._enqueue(MEDIA_TASK, pk))
    return received.outcome


def _name_customer(received: core.Received, name: str) -> None:
    """WhatsApp sends the customer's profile name with every message: keep the latest."""
    if not name or received.item is None:
        return
    customer_id = received.item.conversation.customer_id
    if Customer.objects.filter(pk=customer_id).exclude(name=name[:200]).update(name=name[:200]):
        Conversation.touch(received.item.conversation_id)


def _reaction(entry_point, event: wp.WhatsAppMessage) -> str:
    reaction = IncomingReaction(
        customer_id=event.customer_id,
        message_id=event.reaction.message_id,
        action="unreact" if event.reaction.removed else "react",
        occurred_at=event.occurred_at,
        emoji=event.reaction.emoji,
    )
    return core.receive_reaction(entry_point, reaction)


def _status(entry_point, event: wp.WhatsAppStatus) -> str:
    reason = ""
    if event.status == "failed":
        first = event.errors[0] if event.errors else None
        reason, _outcome = whatsapp_graph.whatsapp_error_reason(
            first.code if first else None, (first.details or first.message) if first else ""
        )
    return core.record_delivery(entry_point, event.message_id, DELIVERY_STATES[event.status], reason)


def _account_error(entry_point, event: wp.WhatsAppAccountError) -> str:
    reason, _outcome = whatsapp_graph.whatsapp_error_reason(event.error.code, event.error.details)
    number = WhatsAppNumber.objects.filter(entry_point=entry_point).first()
    if number is not None:
        WhatsAppNumber.objects.filter(pk=number.pk).update(status_reason=f"Meta reported: {reason}")
    logger.warning("WhatsApp number %s: Meta reported error %s: %s", entry_point.external_id, event.error.code, reason)
    return "error recorded"


# --- media ----------------------------------------------------------------------


def _fetch(url: str, headers: dict) -> bytes:
    token = headers.get("Authorization", "").removeprefix("Bearer ")
    content, _content_type = fetch_media(url, token=token)
    return content


def download_media(attachment_id: int, final: bool = False) -> bool:
    """Fetch a customer's WhatsApp media through its id with the number's token. False: try again later."""
    attachment = Attachment.objects.filter(pk=attachment_id).select_related("item").first()
    if attachment is None or attachment.status == Attachment.Status.STORED:
        return True
    number = WhatsAppNumber.objects.filter(entry_point_id=attachment.item.entry_point_id).first()
    media_id = urlsplit(attachment.original_url).path.rstrip("/").rsplit("/", 1)[-1]
    try:
        if number is None:
            raise MediaError("The WhatsApp number is no longer connected.")
        content, _info = whatsapp_graph.download_media(number.access_token, media_id, _fetch)
    except (GraphError, MediaError, whatsapp_graph.MediaIntegrityError) as error:
        logger.warning("WhatsApp attachment %s not downloaded: %s", attachment_id, error)
        if final or number is None or isinstance(error, whatsapp_graph.MediaIntegrityError):
            attachment.status = Attachment.Status.FAILED
            attachment.error = str(error)
            attachment.save(update_fields=["status", "error"])
            Conversation.touch(attachment.item.conversation_id)
            return True
        return False
    detected = media_types.detect(content)
    attachment.file.save(f"{attachment.item_id}-{attachment.pk}.{detected.extension}", ContentFile(content), save=False)
    attachment.content_type = detected.mime
    attachment.status = Attachment.Status.STORED
    attachment.error = ""
    attachment.save(update_fields=["file", "content_type", "status", "error"])
    Conversation.touch(attachment.item.conversation_id)
    return True
