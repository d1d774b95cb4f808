"""The Chat Channel's services: visitors, their signed tokens, their messages, and whether anyone is there.

Consumers and views parse and check the request and call these; everything a
visitor sends reaches the core through `conversations.inbound`.
"""

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from conversations import inbound, media_types
from conversations.business_hours import is_within_business_hours
from conversations.models import Attachment, Conversation, TimelineItem
from conversations.routing import available_agents, route

from .models import ChatVisitor, ChatWidget

TOKEN_SALT = "chat.visitor"  # noqa: S105 (a namespace for signing, not a secret)
TOKEN_MAX_AGE = 365 * 24 * 3600
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
HISTORY_LIMIT = 100
# Items after the last one a reconnecting widget has shown, at most.
CATCH_UP_LIMIT = 500
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
SHOWN_KINDS = (TimelineItem.Kind.CUSTOMER_MESSAGE, TimelineItem.Kind.AGENT_MESSAGE, TimelineItem.Kind.AUTO_REPLY)


class Refused(Exception):
    """What the visitor did is not accepted; the message is for the visitor."""


def visitor_group(visitor: ChatVisitor) -> str:
    return f"chat.visitor.{visitor.pk}"


# --- tokens -------------------------------------------------------------------


def issue_token(visitor: ChatVisitor) -> str:
    """A signed token naming the widget and the visitor: it opens this visitor's conversations, nobody else's."""
    return signing.dumps({"w": visitor.widget.public_id, "v": visitor.visitor_id}, salt=TOKEN_SALT, compress=True)


def visitor_from_token(widget: ChatWidget, token: str) -> ChatVisitor | None:
    if not isinstance(token, str) or not token or len(token) > 500:
        return None
    try:
        claims = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(claims, dict) or claims.get("w") != widget.public_id:
        return None
    return ChatVisitor.objects.filter(widget=widget, visitor_id=claims.get("v")).first()


def time_zone_or_none(name) -> ZoneInfo | None:
    """The IANA time zone a browser reported, or None when it is not one this server knows."""
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # unknown, or not a plain key ("../x", "/etc/...")
        return None


def start_visit(
    widget: ChatWidget, token: str, *, page_url="", user_agent="", ip_address=None, time_zone=""
) -> tuple[ChatVisitor, str]:
    """The visitor the token names (a returning visitor), or a new one; with a fresh token."""
    visitor = visitor_from_token(widget, token)
    if visitor is None:
        visitor = ChatVisitor.objects.create(widget=widget)
    visitor.page_url = page_url[:2000] if page_url.startswith(("http://", "https://")) else visitor.page_url
    visitor.user_agent = user_agent[:500] or visitor.user_agent
    if time_zone_or_none(time_zone) is not None:
        visitor.time_zone = time_zone
    visitor.ip_address = ip_address or visitor.ip_address
    visitor.last_seen_at = timezone.now()
    visitor.save()
    return visitor, issue_token(visitor)


# --- limits ---------------------------------------------------------------------


def _over_limit(key: str, limit: int) -> bool:
    """A fixed one-minute window in the shared cache (all web processes count together)."""
    bucket = f"chat-rate:{key}:{int(timezone.now().timestamp() // 60)}"
    cache.add(bucket, 0, timeout=90)
    try:
        count = cache.incr(bucket)
    except ValueError:
        cache.set(bucket, 1, timeout=90)
        count = 1
    return count > limit


def check_rate(visitor: ChatVisitor, ip_address: str | None) -> None:
    if _over_limit(f"visitor:{visitor.pk}", settings.CHAT_RATE_PER_VISITOR):
        raise Refused("You're sending messages very fast. Please wait a minute and try again.")
    if ip_address and _over_limit(f"ip:{ip_address}", settings.CHAT_RATE_PER_IP):
        raise Refused("Too many messages from your network. Please wait a minute and try again.")


# --- availability -----------------------------------------------------------------


@dataclass(frozen=True)
class Availability:
    online: bool
    reason: str = ""  # "nobody", "closed" or "unrouted" when offline


def availability(widget: ChatWidget) -> Availability:
    """Whether someone can answer now: an available agent of the routed Inbox, within Business Hours."""
    entry_point = widget.entry_point
    routed = route(entry_point)
    if not routed.routed:
        return Availability(False, "unrouted")
    hours = entry_point.business_hours or routed.inbox.business_hours
    if not is_within_business_hours(hours, timezone.now()):
        return Availability(False, "closed")
    if not available_agents(routed.inbox, entry_point.channel).exists():
        return Availability(False, "nobody")
    return Availability(True)


# --- messages ---------------------------------------------------------------------


def serialise(item: TimelineItem) -> dict:
    """One timeline item as the widget shows it: plain text, never HTML."""
    from_visitor = item.direction == TimelineItem.Direction.INBOUND
    status = "sent"
    if from_visitor:
        status = "seen" if item.metadata.get("seen") else "sent"
    elif item.delivery_status == TimelineItem.Delivery.FAILED:
        status = "failed"
    return {
        "id": item.pk,
        "from": "visitor" if from_visitor else "agent",
        "author": "" if from_visitor or not item.author else item.author.first_name or "Support",
        "text": item.text,
        "at": item.occurred_at.isoformat(),
        "status": status,
        "client_id": (item.external_id or "").split(":", 1)[1] if from_visitor and item.external_id else "",
        "attachments": [_attachment(attachment) for attachment in item.attachments.all()],
    }


def _attachment(attachment: Attachment) -> dict:
    """What the widget needs to fetch a file (`visitor_file`, with the visitor's token) and how to show it."""
    stored = attachment.status == Attachment.Status.STORED and bool(attachment.file)
    return {
        "id": attachment.pk if stored else None,
        "kind": attachment.kind,
        "name": attachment.filename,
        # Only pictures proven by their bytes are shown in the page; everything else is a download.
        "inline": stored and attachment.content_type in IMAGE_TYPES,
    }


def visitor_file(visitor: ChatVisitor, attachment_id: int) -> Attachment | None:
    """A stored file of one of this visitor's own chat conversations (theirs or ours); None for anyone else's."""
    entry_point_id = visitor.widget.entry_point_id
    return (
        Attachment.objects.filter(
            pk=attachment_id,
            status=Attachment.Status.STORED,
            item__conversation__entry_point_id=entry_point_id,
            item__conversation__customer__identities__entry_point_id=entry_point_id,
            item__conversation__customer__identities__external_id=visitor.visitor_id,
            item__kind__in=SHOWN_KINDS,
            item__deleted_by_customer=False,
        )
        .exclude(file="")
        .first()
    )


def history(visitor: ChatVisitor, after: int | None = None) -> list[dict]:
    """The visitor's messages and our answers across their chat conversations, oldest first.

    A widget that reconnects says the newest item id it has shown (`after`):
    it gets every item after it, plus the latest ones again, because an item
    with a lower id can become visible later (a message committed late, a
    reply sent after it was queued). The widget skips the ids it already
    shows, so nothing is lost and nothing is shown twice."""
    items = (
        TimelineItem.objects.filter(
            conversation__customer__identities__entry_point_id=visitor.widget.entry_point_id,
            conversation__customer__identities__external_id=visitor.visitor_id,
            conversation__entry_point_id=visitor.widget.entry_point_id,
            kind__in=SHOWN_KINDS,
            deleted_by_customer=False,
        )
        .exclude(delivery_status=TimelineItem.Delivery.QUEUED)
        .select_related("author")
        .prefetch_related("attachments")
    )
    latest = list(items.order_by("-occurred_at", "-id")[:HISTORY_LIMIT])
    if after is None:
        return [serialise(item) for item in reversed(latest)]
    newer = list(items.filter(pk__gt=after).order_by("pk")[:CATCH_UP_LIMIT])
    merged = {item.pk: item for item in [*latest, *newer]}
    return [serialise(item) for item in sorted(merged.values(), key=lambda item: (item.occurred_at, item.pk))]


def conversations_of(visitor: ChatVisitor):
    """The visitor's conversations at their widget's Entry Point, closed ones too."""
    entry_point_id = visitor.widget.entry_point_id
    return Conversation.objects.filter(
        entry_point_id=entry_point_id,
        customer__identities__entry_point_id=entry_point_id,
        customer__identities__external_id=visitor.visitor_id,
    )


def current_conversation(visitor: ChatVisitor) -> Conversation | None:
    return conversations_of(visitor).exclude(status=Conversation.Status.CLOSED).first()


def _context(visitor: ChatVisitor) -> dict:
    """Facts for the agent's customer card (shown as text)."""
    facts = {
        "Page": visitor.page_url,
        "Browser": visitor.user_agent,
        "Time zone": visitor.time_zone,
        "Email": visitor.email,
    }
    return {label: value for label, value in facts.items() if value}


def receive_visitor_message(
    visitor: ChatVisitor, client_id: str, text: str, *, attachment: tuple[bytes, str] | None = None
) -> inbound.Received:
    """A visitor's message, stored once per client id (a resend after a reconnect adds nothing)."""
    if not CLIENT_ID.match(client_id or ""):
        raise Refused("This message could not be sent (bad id).")
    text = (text or "").strip()
    if len(text) > settings.CHAT_MESSAGE_MAX_CHARS:
        raise Refused(f"Messages can have at most {settings.CHAT_MESSAGE_MAX_CHARS} characters.")
    if not text and attachment is None:
        raise Refused("Write a message first.")
    attachments = ()
    if attachment is not None:
        content, filename = attachment
        attachments = (inbound.IncomingAttachment(kind="image", content=content, filename=filename[:200]),)
    message = inbound.IncomingMessage(
        message_id=f"{visitor.visitor_id}:{client_id}",
        customer_id=visitor.visitor_id,
        occurred_at=timezone.now(),
        text=text,
        attachments=attachments,
        customer_name=visitor.name or f"Visitor {visitor.pk}",
        metadata={"context": _context(visitor)},
    )
    with transaction.atomic():
        received = inbound.receive_message(visitor.widget.entry_point, message)
    ChatVisitor.objects.filter(pk=visitor.pk).update(last_seen_at=timezone.now())
    return received


def check_size(size: int) -> None:
    if size > settings.CHAT_ATTACHMENT_MAX_BYTES:
        megabytes = settings.CHAT_ATTACHMENT_MAX_BYTES / (1024 * 1024)
        raise Refused(f"That file is too big. Images can be up to {megabytes:g} MB.")


def check_image(content: bytes) -> None:
    """Only pictures a browser shows without running anything, up to the size limit."""
    check_size(len(content))
    if media_types.detect(content).mime not in IMAGE_TYPES:
        raise Refused("Only images (PNG, JPEG, GIF or WebP) can be attached.")


def mark_read(visitor: ChatVisitor, up_to_item_id: int) -> None:
    """The visitor saw our messages up to this one."""
    item = TimelineItem.objects.filter(
        pk=up_to_item_id,
        conversation__entry_point_id=visitor.widget.entry_point_id,
        conversation__customer__identities__external_id=visitor.visitor_id,
    ).first()
    if item is not None:
        inbound.receive_read(visitor.widget.entry_point, visitor.visitor_id, item.occurred_at)


def mark_seen_by_agent(visitor: ChatVisitor) -> list[int]:
    """An agent looked at the conversation: the visitor's messages so far are seen."""
    conversation = current_conversation(visitor)
    if conversation is None:
        return []
    unseen = [
        item
        for item in conversation.items.filter(direction=TimelineItem.Direction.INBOUND)
        if not item.metadata.get("seen")
    ]
    for item in unseen:
        item.metadata["seen"] = True
        item.save(update_fields=["metadata"])
    return [item.pk for item in unseen]


def save_contact(visitor: ChatVisitor, name: str, email: str) -> None:
    name = (name or "").strip()[:200]
    email = (email or "").strip()[:254]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise Refused("That email address does not look right.") from None
    visitor.name = name or visitor.name
    visitor.email = email or visitor.email
    visitor.save(update_fields=["name", "email"])
    identity = inbound.find_identity(visitor.widget.entry_point, visitor.visitor_id)
    customer = identity.customer if identity is not None else None
    if customer is not None and visitor.name and (not customer.name or customer.name == f"Visitor {visitor.pk}"):
        customer.name = visitor.name
        customer.save(update_fields=["name"])
