"""What customers send us, applied to customers, conversations and timelines.

Consumes the plain events of channels_app.meta.parser; knows nothing of Meta's JSON.
Every function is idempotent: Meta's mid is unique per Entry Point, so a
redelivered or re-run event adds nothing.
"""

import logging

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.meta import parser
from channels_app.models import AccountEvent, EntryPoint, InstagramAccount, OutboundMessage
from inbox.services import route_conversation

from . import signals
from .models import Attachment, Conversation, Customer, CustomerIdentity, CustomerReaction, TimelineItem

logger = logging.getLogger(__name__)

UNSUPPORTED_TEXT = "The customer sent something Instagram does not pass on to other apps."


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


# --- customers and conversations -------------------------------------------


def get_or_create_identity(entry_point: EntryPoint, external_id: str) -> tuple[CustomerIdentity, bool]:
    identity = CustomerIdentity.objects.filter(entry_point=entry_point, external_id=external_id).first()
    if identity is not None:
        return identity, False
    try:
        with transaction.atomic():
            customer = Customer.objects.create()
            identity = CustomerIdentity.objects.create(
                customer=customer, entry_point=entry_point, external_id=external_id
            )
    except IntegrityError:
        # Another worker created it first.
        return CustomerIdentity.objects.get(entry_point=entry_point, external_id=external_id), False
    transaction.on_commit(lambda: _enqueue_profile(identity.pk))
    return identity, True


def _enqueue_profile(identity_id):
    from channels_app.tasks import fetch_customer_profile

    try:
        fetch_customer_profile.delay(identity_id)
    except Exception as error:
        logger.warning("Profile fetch for identity %s not enqueued: %s", identity_id, error)


def open_conversation(customer: Customer, entry_point: EntryPoint, at) -> tuple[Conversation, bool]:
    """The customer's conversation at this Entry Point that is not closed, or a new routed one."""
    active = Conversation.objects.filter(customer=customer, entry_point=entry_point).exclude(
        status=Conversation.Status.CLOSED
    )
    conversation = active.first()
    if conversation is not None:
        return conversation, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                customer=customer, entry_point=entry_point, opened_at=at, last_activity_at=at
            )
    except IntegrityError:
        return active.get(), False
    route_conversation(conversation)
    return conversation, True


def _create_item(conversation, entry_point, event, **fields) -> TimelineItem | None:
    """Create the timeline item for an event once; None if its mid is already there."""
    try:
        with transaction.atomic():
            return TimelineItem.objects.create(
                conversation=conversation,
                entry_point=entry_point,
                external_id=event.mid,
                occurred_at=event.occurred_at,
                created_at=timezone.now(),
                **fields,
            )
    except IntegrityError:
        return None


def _item_exists(entry_point, mid) -> bool:
    return TimelineItem.objects.filter(entry_point=entry_point, external_id=mid).exists()


def _add_attachments(item, attachments):
    for attachment in attachments:
        if not attachment.url:
            continue
        stored = Attachment.objects.create(item=item, kind=attachment.kind, original_url=attachment.url)
        transaction.on_commit(lambda pk=stored.pk: _enqueue_download(pk))


def _enqueue_download(attachment_id):
    from channels_app.tasks import download_attachment

    try:
        download_attachment.delay(attachment_id)
    except Exception as error:
        logger.warning("Download of attachment %s not enqueued: %s", attachment_id, error)


def _customer_item(entry_point, event, kind, placeholder=False, **fields) -> str:
    """Store a customer's event as a timeline item once. A placeholder (a deletion that
    overtook its message) neither counts as the customer's latest message nor notifies."""
    existing = TimelineItem.objects.filter(entry_point=entry_point, external_id=event.mid).first()
    if existing is not None:
        if existing.metadata.get("arrived_deleted") and not placeholder:
            # The message caught up with its deletion: keep what it was, still hidden.
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.kind = kind
            existing.occurred_at = event.occurred_at
            existing.metadata = {**fields.get("metadata", {})}
            existing.deleted_by_customer = True
            existing.save()
            # The customer did write then: the messaging window counts from it.
            latest = existing.conversation.last_customer_message_at
            if latest is None or event.occurred_at > latest:
                Conversation.touch(existing.conversation_id, last_customer_message_at=event.occurred_at)
            return "filled in deleted"
        return "duplicate"
    identity, _ = get_or_create_identity(entry_point, event.customer_id)
    conversation, created = open_conversation(identity.customer, entry_point, event.occurred_at)
    item = _create_item(conversation, entry_point, event, kind=kind, direction=TimelineItem.Direction.INBOUND, **fields)
    if item is None:
        return "duplicate"
    if placeholder:
        Conversation.touch(conversation.pk)
        return "created"
    latest = conversation.last_customer_message_at
    update = {"last_customer_message_at": max(latest, event.occurred_at) if latest else event.occurred_at}
    if event.occurred_at < conversation.opened_at:
        update["opened_at"] = event.occurred_at  # an earlier message that arrived late
    if conversation.status == Conversation.Status.WAITING:
        update["status"] = Conversation.Status.OPEN
    Conversation.touch(conversation.pk, **update)
    for name, value in update.items():
        setattr(conversation, name, value)
    signals.customer_message_received.send(
        sender=TimelineItem, conversation=conversation, item=item, conversation_created=created
    )
    return "created"


# --- event handlers ----------------------------------------------------------


def _message(entry_point, event: parser.InboundMessage) -> str:
    reply_to = None
    if event.reply_to_mid:
        reply_to = TimelineItem.objects.filter(entry_point=entry_point, external_id=event.reply_to_mid).first()
    kind = TimelineItem.Kind.STORY_REPLY if event.is_story_reply else TimelineItem.Kind.CUSTOMER_MESSAGE
    metadata = {"quick_reply_payload": event.quick_reply_payload} if event.quick_reply_payload else {}
    if event.story_id:
        metadata["story_id"] = event.story_id
    outcome = _customer_item(
        entry_point, event, kind, text=event.text, story_url=event.story_url, reply_to=reply_to, metadata=metadata
    )
    if outcome == "created":
        item = TimelineItem.objects.get(entry_point=entry_point, external_id=event.mid)
        _add_attachments(item, event.attachments)
        if event.story_url:
            _add_attachments(item, [parser.InboundAttachment("story", event.story_url)])
    return outcome


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
    outcome = _customer_item(entry_point, event, TimelineItem.Kind.STORY_MENTION, story_url=event.url)
    if outcome == "created":
        item = TimelineItem.objects.get(entry_point=entry_point, external_id=event.mid)
        _add_attachments(item, [parser.InboundAttachment("story_mention", event.url)])
    return outcome


def _reaction(entry_point, event: parser.InboundReaction) -> str:
    # Kept for the record; Instagram reactions are not shown in the timeline.
    identity, _ = get_or_create_identity(entry_point, event.customer_id)
    _, created = CustomerReaction.objects.get_or_create(
        entry_point=entry_point,
        customer=identity.customer,
        message_external_id=event.mid,
        action=event.action,
        occurred_at=event.occurred_at,
        defaults={"reaction": event.reaction, "emoji": event.emoji},
    )
    return "reaction recorded" if created else "duplicate"


def _echo(entry_point, event: parser.Echo) -> str:
    ours = TimelineItem.objects.filter(entry_point=entry_point, external_id=event.mid).first()
    if ours is not None:
        if ours.delivery_status in (TimelineItem.Delivery.QUEUED, TimelineItem.Delivery.SENT):
            ours.delivery_status = TimelineItem.Delivery.DELIVERED
            ours.save(update_fields=["delivery_status"])
            Conversation.touch(ours.conversation_id)
        return "echo of ours"
    if _claim_in_flight_send(entry_point, event):
        return "echo of ours"
    return _outside_echo(entry_point, event)


def _claim_in_flight_send(entry_point, event: parser.Echo) -> bool:
    """An echo may overtake the Send API's answer: match it to our send still in flight."""
    in_flight = OutboundMessage.objects.select_for_update().filter(
        account__entry_point=entry_point,
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
        account__entry_point=entry_point,
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
    account = InstagramAccount.objects.filter(entry_point=entry_point).first()
    if account is not None:
        AccountEvent.objects.get_or_create(
            account=account,
            kind=AccountEvent.Kind.OUTSIDE_ECHO,
            external_id=f"{event.action}:{event.mid}:{int(event.occurred_at.timestamp() * 1000)}",
            defaults={"occurred_at": event.occurred_at},
        )
    return "outside reaction counted"


def _outside_echo(entry_point, event: parser.Echo) -> str:
    """A message sent to the customer by another tool or by hand in the Instagram app."""
    account = InstagramAccount.objects.filter(entry_point=entry_point).first()
    if account is not None:
        AccountEvent.objects.get_or_create(
            account=account,
            kind=AccountEvent.Kind.OUTSIDE_ECHO,
            external_id=event.mid,
            defaults={"occurred_at": event.occurred_at},
        )
    identity = CustomerIdentity.objects.filter(entry_point=entry_point, external_id=event.customer_id).first()
    if identity is None:
        return "outside echo counted"
    conversations = Conversation.objects.filter(customer=identity.customer, entry_point=entry_point)
    conversation = (
        conversations.exclude(status=Conversation.Status.CLOSED).first() or conversations.order_by("-opened_at").first()
    )
    if conversation is None:
        return "outside echo counted"
    item = _create_item(
        conversation,
        entry_point,
        event,
        kind=TimelineItem.Kind.OTHER_AUTOMATION,
        direction=TimelineItem.Direction.OUTBOUND,
        text=event.text,
        delivery_status=TimelineItem.Delivery.SENT,
    )
    if item is None:
        return "duplicate"
    _add_attachments(item, event.attachments)
    Conversation.touch(conversation.pk)
    return "outside echo shown"


def _deleted(entry_point, event: parser.MessageDeleted) -> str:
    updated = TimelineItem.objects.filter(
        entry_point=entry_point, external_id=event.mid, direction=TimelineItem.Direction.INBOUND
    )
    item = updated.first()
    if item is None:
        # The deletion overtook the message (or the message never reached us): keep a
        # deleted placeholder under its mid, so the message, if it comes, is never shown.
        return _customer_item(
            entry_point,
            event,
            TimelineItem.Kind.CUSTOMER_MESSAGE,
            placeholder=True,
            deleted_by_customer=True,
            metadata={"arrived_deleted": True},
        )
    updated.update(deleted_by_customer=True)
    Conversation.touch(item.conversation_id)
    return "marked deleted"


def _unsupported(entry_point, event: parser.UnsupportedMessage) -> str:
    return _customer_item(
        entry_point, event, TimelineItem.Kind.CUSTOMER_MESSAGE, text=UNSUPPORTED_TEXT, unsupported=True
    )


def _read(entry_point, event: parser.ReadReceipt) -> str:
    identity = CustomerIdentity.objects.filter(entry_point=entry_point, external_id=event.sender_id).first()
    if identity is None:
        return "read by unknown customer"
    up_to = event.watermark or event.occurred_at
    if event.mid:
        read_item = TimelineItem.objects.filter(entry_point=entry_point, external_id=event.mid).first()
        if read_item is not None:
            up_to = read_item.occurred_at
    unread = TimelineItem.objects.filter(
        conversation__customer=identity.customer,
        entry_point=entry_point,
        direction=TimelineItem.Direction.OUTBOUND,
        delivery_status__in=[TimelineItem.Delivery.SENT, TimelineItem.Delivery.DELIVERED],
        occurred_at__lte=up_to,
    )
    conversation_ids = set(unread.values_list("conversation_id", flat=True))
    unread.update(delivery_status=TimelineItem.Delivery.READ)
    for conversation_id in conversation_ids:
        Conversation.touch(conversation_id)
    return "marked read"


# --- profiles ----------------------------------------------------------------


def fetch_profile(identity_id: int) -> bool:
    """Fill in a customer's name, username and picture from Instagram. False: try again later."""
    from channels_app.meta.graph import GraphError
    from channels_app.meta.media import MediaError, fetch_media, file_name_for
    from channels_app.meta.profile import fetch_profile as graph_profile

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
        return not error.transient and not error.token_invalid and error.code not in (None, 4, 17, 32, 613)
    customer = identity.customer
    customer.name = profile.name or customer.name
    customer.username = profile.username or customer.username
    customer.profile_picture_url = profile.picture_url
    customer.profile_fetched_at = timezone.now()
    if profile.picture_url:
        try:
            content, _content_type = fetch_media(profile.picture_url)
            customer.profile_picture.save(
                file_name_for(content, f"customer-{customer.pk}"),
                ContentFile(content),
                save=False,
            )
        except MediaError as error:
            logger.info("Profile picture of customer %s not stored: %s", customer.pk, error)
    customer.save()
    for conversation_id in customer.conversations.values_list("pk", flat=True):
        Conversation.touch(conversation_id)
    return True
