"""The core's inbound API: what customers send us, for an Entry Point and an identity.

Adapters parse their provider's payloads into these plain values and call the
functions below; nothing here knows a provider. Every function is idempotent:
a provider's message id is unique per Entry Point, so a redelivered or re-run
event adds nothing.
"""

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Subquery
from django.utils import timezone

from channels_app.models import EntryPoint

from . import customers, outbound, routing, services, signals
from .attachments import store_content
from .models import Attachment, Conversation, Customer, CustomerIdentity, CustomerReaction, TimelineItem
from .routing import route_conversation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingAttachment:
    kind: str  # image, video, audio, file, story, …
    url: str = ""  # to be downloaded by the adapter (the provider's CDN)
    content: bytes | None = None  # bytes already in hand (email, chat)
    filename: str = ""
    content_type: str = ""  # as claimed; the stored type is decided from the bytes
    content_id: str = ""  # an email's inline cid


@dataclass(frozen=True)
class IncomingMessage:
    message_id: str
    customer_id: str  # the identity at this Entry Point: IGSID, address, number, visitor id
    occurred_at: datetime
    text: str = ""
    html: str = ""  # already sanitised by the adapter
    subject: str = ""
    attachments: tuple[IncomingAttachment, ...] = ()
    reply_to_message_id: str = ""
    kind: str = TimelineItem.Kind.CUSTOMER_MESSAGE
    metadata: dict = field(default_factory=dict)
    customer_name: str = ""
    story_url: str = ""
    unsupported: bool = False
    # A thread the adapter already matched (an email's In-Reply-To).
    conversation_id: int | None = None
    # Auto-replies and bounces: stored, never answered by Rules or auto-replies.
    automated: bool = False


@dataclass(frozen=True)
class Received:
    outcome: str  # "created", "duplicate", "filled in deleted"
    item: TimelineItem | None = None
    identity_created: bool = False
    attachments: tuple[Attachment, ...] = ()
    identity_id: int | None = None


# --- customers and conversations -------------------------------------------


def get_or_create_identity(entry_point: EntryPoint, external_id: str, name: str = "") -> tuple[CustomerIdentity, bool]:
    identity = CustomerIdentity.objects.filter(entry_point=entry_point, external_id=external_id).first()
    if identity is not None:
        return identity, False
    try:
        with transaction.atomic():
            customer = Customer.objects.create(name=name[:200])
            identity = CustomerIdentity.objects.create(
                customer=customer, entry_point=entry_point, external_id=external_id
            )
    except IntegrityError:
        # Another worker created it first.
        return CustomerIdentity.objects.get(entry_point=entry_point, external_id=external_id), False
    return identity, True


def find_identity(entry_point: EntryPoint, external_id: str) -> CustomerIdentity | None:
    return CustomerIdentity.objects.filter(entry_point=entry_point, external_id=external_id).first()


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


def _thread(customer, entry_point, message: IncomingMessage) -> tuple[Conversation, bool]:
    """The conversation a message belongs to: the adapter's matched thread if still open, else the open one.

    A reply to a closed thread reopens it when its Inbox says so (and the customer
    has no other open conversation there); otherwise it starts a new one."""
    if message.conversation_id:
        matched = (
            Conversation.objects.filter(pk=message.conversation_id, customer=customer, entry_point=entry_point)
            .select_related("inbox")
            .first()
        )
        if matched is not None and not matched.is_closed:
            return matched, False
        if matched is not None and matched.inbox is not None and matched.inbox.reopen_on_customer_reply:
            try:
                return services.reopen_conversation(matched, None, by="The customer's reply"), False
            except services.ActionRefused:
                pass  # another conversation is open there: the message goes to it
    return open_conversation(customer, entry_point, message.occurred_at)


def _create_item(conversation, entry_point, message_id, occurred_at, **fields) -> TimelineItem | None:
    """Create the timeline item for an event once; None if its id is already there."""
    try:
        with transaction.atomic():
            return TimelineItem.objects.create(
                conversation=conversation,
                entry_point=entry_point,
                external_id=message_id,
                occurred_at=occurred_at,
                created_at=timezone.now(),
                **fields,
            )
    except IntegrityError:
        return None


def _add_attachments(item, attachments) -> tuple[Attachment, ...]:
    """Attachment rows for an item; bytes in hand are stored now, URLs are left for the adapter to fetch."""
    stored = []
    for attachment in attachments:
        if not attachment.url and attachment.content is None:
            continue
        row = Attachment.objects.create(
            item=item,
            kind=attachment.kind,
            original_url=attachment.url[:2000],
            filename=attachment.filename[:255],
            content_id=attachment.content_id[:255],
        )
        if attachment.content is not None:
            store_content(row, attachment.content, attachment.filename)
        stored.append(row)
    return tuple(stored)


_mode = threading.local()


@contextmanager
def all_or_nothing():
    """Inside: the caller rolls its whole transaction back on any error and applies it again the careful way.

    So `receive_message` needs no savepoint to carry on after finding a message
    id stored already: a duplicate fails the attempt instead (an IntegrityError),
    which for a first delivery is rare. Two statements of a message's seven on PostgreSQL.
    """
    _mode.all_or_nothing = True
    try:
        yield
    finally:
        _mode.all_or_nothing = False


@contextmanager
def redelivery():
    """Inside: the messages are probably stored already (the caller found one that was).

    So `receive_message` looks for the message before it tries to store it: a
    duplicate then costs two look-ups instead of a failed insert and the
    savepoint around it (six statements on PostgreSQL).
    """
    _mode.redelivery = True
    try:
        yield
    finally:
        _mode.redelivery = False


def receive_message(entry_point: EntryPoint, message: IncomingMessage, *, placeholder: bool = False) -> Received:
    """A customer's message at an Entry Point: stored once, in their open (routed) conversation.

    The common case costs one look-up and one insert: the unique (Entry Point,
    message id) constraint, not a prior SELECT, says whether it is new. A
    placeholder (a deletion that overtook its message) neither counts as the
    customer's latest message nor notifies anyone.
    """
    if placeholder:
        return _receive_known(entry_point, message, placeholder)
    if getattr(_mode, "all_or_nothing", False):
        return _receive_new(entry_point, message)  # a duplicate id fails the caller's whole attempt
    if not (getattr(_mode, "redelivery", False) and _is_stored(entry_point, message.message_id)):
        try:
            with transaction.atomic():
                return _receive_new(entry_point, message)
        except IntegrityError:
            pass  # its id is there already: a redelivery, or a deletion that overtook it
    return _receive_known(entry_point, message, placeholder)


def _is_stored(entry_point: EntryPoint, message_id: str) -> bool:
    return TimelineItem.objects.filter(entry_point=entry_point, external_id=message_id).exists()


def _active_conversation(entry_point: EntryPoint, customer_id: str) -> Conversation | None:
    """The customer's conversation at this Entry Point that is not closed, found by their id there.

    Asked by customer only (the identity is a subquery PostgreSQL runs first, through its
    unique index), and the Entry Point picked here: a condition on the Entry Point let
    PostgreSQL, on tables not analyzed yet (a new install, a fast-growing one), walk every
    conversation at the Entry Point for each message. A customer has few open conversations.
    """
    customer = CustomerIdentity.objects.filter(entry_point=entry_point, external_id=customer_id).values("customer_id")
    active = (
        Conversation.objects.select_related("inbox")
        .filter(customer_id=Subquery(customer[:1]))
        .exclude(status=Conversation.Status.CLOSED)
        .order_by()
    )
    conversation = next((found for found in active if found.entry_point_id == entry_point.pk), None)
    if conversation is not None:
        conversation.entry_point = entry_point  # known already: no query for it later
    return conversation


def _fields(message: IncomingMessage) -> dict:
    return {
        "text": message.text,
        "story_url": message.story_url,
        "unsupported": message.unsupported,
        "metadata": _metadata(message),
    }


def _new_customer(entry_point: EntryPoint, message: IncomingMessage) -> tuple[CustomerIdentity, Conversation]:
    """A first message from someone: customer, identity and a routed, offered conversation.

    Inside `receive_message`'s savepoint (or an `all_or_nothing` attempt): if
    another worker creates the same identity at the same moment, the unique
    constraint fails this attempt and the message is stored again the careful
    way. Nobody else can see this customer yet, so the conversation needs no
    lock and no second look.
    """
    customer = _customer_of_new_identity(entry_point, message)
    identity = CustomerIdentity.objects.create(
        customer=customer, entry_point=entry_point, external_id=message.customer_id
    )
    route = routing.route(entry_point)
    agent = routing.pick_agent(route.inbox, entry_point.channel_id) if route.routed else None
    conversation = Conversation.objects.create(
        customer=customer,
        entry_point=entry_point,
        inbox=route.inbox,
        unrouted_reason=route.reason,
        assignee=agent,
        opened_at=message.occurred_at,
        last_activity_at=message.occurred_at,
        last_customer_message_at=message.occurred_at,
    )
    if not route.routed:
        logger.warning(
            "Conversation %s is unrouted: %s (entry point %s)", conversation.pk, route.reason, entry_point.pk
        )
    conversation.entry_point = entry_point
    return identity, conversation


def _customer_of_new_identity(entry_point: EntryPoint, message: IncomingMessage) -> Customer:
    """Someone new at this Entry Point: the customer the channel's verified email or phone names, else a new one.

    The emails and phones the customer gave are kept on them, so that an agent
    is shown who else has them (`customers.suggestions`)."""
    emails, phones = customers.given_contacts(message.metadata) if message.metadata else ([], [])
    linked = customers.linked_customer(message.metadata) if message.metadata else None
    if linked is not None and not (
        Conversation.objects.filter(customer=linked, entry_point=entry_point)
        .exclude(status=Conversation.Status.CLOSED)
        .exists()
    ):
        linked.emails = list(dict.fromkeys(linked.emails + emails))
        linked.phones = list(dict.fromkeys(linked.phones + phones))
        linked.name = linked.name or message.customer_name[:200]
        linked.save(update_fields=["emails", "phones", "name"])
        return linked
    return Customer.objects.create(name=message.customer_name[:200], emails=emails, phones=phones)


def _receive_new(entry_point: EntryPoint, message: IncomingMessage) -> Received:
    conversation, created, identity, identity_created = None, False, None, False
    if not message.conversation_id:
        conversation = _active_conversation(entry_point, message.customer_id)
    if conversation is None:
        identity = find_identity(entry_point, message.customer_id)
        if identity is None:
            identity, conversation = _new_customer(entry_point, message)
            created = identity_created = True
        else:
            conversation, created = _thread(identity.customer, entry_point, message)
            conversation.entry_point = entry_point
    reply_to = None
    if message.reply_to_message_id:
        reply_to = TimelineItem.objects.filter(entry_point=entry_point, external_id=message.reply_to_message_id).first()
    item = TimelineItem.objects.create(
        conversation=conversation,
        entry_point=entry_point,
        external_id=message.message_id,
        occurred_at=message.occurred_at,
        created_at=timezone.now(),
        kind=message.kind,
        direction=TimelineItem.Direction.INBOUND,
        reply_to=reply_to,
        **_fields(message),
    )
    attachments = _add_attachments(item, message.attachments)
    if not identity_created:  # a new customer's conversation was created with these already
        latest = conversation.last_customer_message_at
        update = {"last_customer_message_at": max(latest, message.occurred_at) if latest else message.occurred_at}
        if message.occurred_at < conversation.opened_at:
            update["opened_at"] = message.occurred_at  # an earlier message that arrived late
        if conversation.status == Conversation.Status.WAITING:
            update["status"] = Conversation.Status.OPEN
        if conversation.snoozed_until is not None:
            update["snoozed_until"] = None  # the customer's message ends a snooze
        Conversation.touch(conversation.pk, inbox_id=conversation.inbox_id, items_changed=False, **update)
        for name, value in update.items():
            setattr(conversation, name, value)
    signals.customer_message_received.send(
        sender=TimelineItem, conversation=conversation, item=item, conversation_created=created
    )
    identity_id = identity.pk if identity is not None else None
    return Received("created", item, identity_created, attachments, identity_id)


def _receive_known(entry_point: EntryPoint, message: IncomingMessage, placeholder: bool) -> Received:
    """The message id is (probably) there already; or a placeholder for a deletion that came first."""
    fields = _fields(message)
    existing = TimelineItem.objects.filter(entry_point=entry_point, external_id=message.message_id).first()
    if existing is not None:
        if existing.metadata.get("arrived_deleted") and not placeholder:
            # The message caught up with its deletion: keep what it was, still hidden.
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.kind = message.kind
            existing.occurred_at = message.occurred_at
            existing.deleted_by_customer = True
            existing.save()
            # The customer did write then: the messaging window counts from it.
            latest = existing.conversation.last_customer_message_at
            if latest is None or message.occurred_at > latest:
                Conversation.touch(existing.conversation_id, last_customer_message_at=message.occurred_at)
            return Received("filled in deleted", existing)
        return Received("duplicate", existing)
    identity, identity_created = get_or_create_identity(entry_point, message.customer_id, message.customer_name)
    conversation, _ = _thread(identity.customer, entry_point, message)
    item = _create_item(
        conversation,
        entry_point,
        message.message_id,
        message.occurred_at,
        kind=message.kind,
        direction=TimelineItem.Direction.INBOUND,
        deleted_by_customer=placeholder,
        **fields,
    )
    if item is None:
        return Received("duplicate", identity_created=identity_created)
    Conversation.touch(conversation.pk, items_changed=False)
    return Received("created", item, identity_created)


def _metadata(message: IncomingMessage) -> dict:
    metadata = dict(message.metadata)
    if message.subject:
        metadata["subject"] = message.subject
    if message.html:
        metadata["html"] = message.html
    if message.automated:
        metadata["automated"] = True
    return metadata


def receive_deletion(entry_point: EntryPoint, customer_id: str, message_id: str, occurred_at) -> str:
    """The customer deleted a message: hidden from agents, also when the deletion arrives first."""
    updated = TimelineItem.objects.filter(
        entry_point=entry_point, external_id=message_id, direction=TimelineItem.Direction.INBOUND
    )
    item = updated.first()
    if item is None:
        # The deletion overtook the message (or the message never reached us): keep a
        # deleted placeholder under its id, so the message, if it comes, is never shown.
        placeholder = IncomingMessage(
            message_id=message_id, customer_id=customer_id, occurred_at=occurred_at, metadata={"arrived_deleted": True}
        )
        return receive_message(entry_point, placeholder, placeholder=True).outcome
    updated.update(deleted_by_customer=True)
    Conversation.touch(item.conversation_id)
    return "marked deleted"


@dataclass(frozen=True)
class IncomingReaction:
    customer_id: str
    message_id: str  # the reacted-to message
    action: str  # "react" or "unreact"
    occurred_at: datetime
    reaction: str = ""
    emoji: str = ""


def receive_reaction(entry_point: EntryPoint, reaction: IncomingReaction) -> str:
    """Kept for the record and shown as a mark on the reacted-to item, never as an item of its own."""
    identity, _ = get_or_create_identity(entry_point, reaction.customer_id)
    _, created = CustomerReaction.objects.get_or_create(
        entry_point=entry_point,
        customer=identity.customer,
        message_external_id=reaction.message_id,
        action=reaction.action,
        occurred_at=reaction.occurred_at,
        defaults={"reaction": reaction.reaction, "emoji": reaction.emoji},
    )
    if created:
        reacted = TimelineItem.objects.filter(entry_point=entry_point, external_id=reaction.message_id).first()
        if reacted is not None:
            Conversation.touch(reacted.conversation_id)
    return "reaction recorded" if created else "duplicate"


def receive_read(entry_point: EntryPoint, customer_id: str, up_to, message_id: str = "") -> str:
    """The customer read our messages up to `up_to` (or up to the message `message_id`)."""
    identity = find_identity(entry_point, customer_id)
    if identity is None:
        return "read by unknown customer"
    if message_id:
        read_item = TimelineItem.objects.filter(entry_point=entry_point, external_id=message_id).first()
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


def record_delivery(entry_point: EntryPoint, message_id: str, status: str, reason: str = "") -> str:
    """The provider reports what became of one of our messages (delivered, read, failed)."""
    item = TimelineItem.objects.filter(
        entry_point=entry_point, external_id=message_id, direction=TimelineItem.Direction.OUTBOUND
    ).first()
    if item is None:
        return "unknown message"
    if status == TimelineItem.Delivery.FAILED:
        message = getattr(item, "outbound", None)
        if message is not None:
            outbound.record_failed(message, reason or "The provider could not deliver the message.")
        return "marked failed"
    order = [TimelineItem.Delivery.QUEUED, TimelineItem.Delivery.SENT, TimelineItem.Delivery.DELIVERED]
    order.append(TimelineItem.Delivery.READ)
    current = item.delivery_status
    if current in order and status in order and order.index(status) <= order.index(current):
        return "already"
    TimelineItem.objects.filter(pk=item.pk).update(delivery_status=status)
    Conversation.touch(item.conversation_id)
    return f"marked {status}"


def record_outside_message(
    entry_point: EntryPoint, customer_id: str, message_id: str, text: str, occurred_at, attachments=()
) -> tuple[str, TimelineItem | None]:
    """A message to the customer sent by another tool or by hand in the provider's app."""
    identity = find_identity(entry_point, customer_id)
    if identity is None:
        return "outside message counted", None
    conversations = Conversation.objects.filter(customer=identity.customer, entry_point=entry_point)
    conversation = (
        conversations.exclude(status=Conversation.Status.CLOSED).first() or conversations.order_by("-opened_at").first()
    )
    if conversation is None:
        return "outside message counted", None
    item = _create_item(
        conversation,
        entry_point,
        message_id,
        occurred_at,
        kind=TimelineItem.Kind.OTHER_AUTOMATION,
        direction=TimelineItem.Direction.OUTBOUND,
        text=text,
        delivery_status=TimelineItem.Delivery.SENT,
    )
    if item is None:
        return "duplicate", None
    _add_attachments(item, attachments)
    Conversation.touch(conversation.pk)
    return "outside message shown", item


def mark_ours_delivered(entry_point: EntryPoint, message_id: str) -> bool:
    """An echo of one of our own sends: at least delivered. False if it is not ours."""
    ours = TimelineItem.objects.filter(entry_point=entry_point, external_id=message_id).first()
    if ours is None:
        return False
    if ours.delivery_status in (TimelineItem.Delivery.QUEUED, TimelineItem.Delivery.SENT):
        ours.delivery_status = TimelineItem.Delivery.DELIVERED
        ours.save(update_fields=["delivery_status"])
        Conversation.touch(ours.conversation_id)
    return True


def record_answered_call(
    entry_point: EntryPoint,
    customer_id: str,
    call_id: str,
    occurred_at,
    agent,
    text: str,
    metadata=None,
    customer_name: str = "",
) -> tuple[str, TimelineItem | None]:
    """A customer's call an agent talked to: a `call` item in the customer's open conversation.

    Talking to the customer answers them, so the item satisfies the SLA like an
    agent's reply (the same signal; the core's receivers decide). Idempotent on
    the provider's call id."""
    identity, _ = get_or_create_identity(entry_point, customer_id, customer_name)
    conversation, _created = open_conversation(identity.customer, entry_point, occurred_at)
    item = _create_item(
        conversation,
        entry_point,
        call_id,
        occurred_at,
        kind=TimelineItem.Kind.CALL,
        direction=TimelineItem.Direction.INBOUND,
        author=agent,
        text=text,
        metadata=dict(metadata or {}),
    )
    if item is None:
        return "duplicate", None
    Conversation.touch(conversation.pk)
    if agent is not None:
        signals.agent_message_queued.send(sender=TimelineItem, conversation=conversation, item=item)
    return "created", item
