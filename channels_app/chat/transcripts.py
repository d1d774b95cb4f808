"""The chat transcript by email: when an agent closes a chat with a visitor who left an address.

Like Chatwoot and Intercom, the transcript goes on resolve, so the visitor keeps
what was said without asking. It holds only what the visitor saw (their messages,
our replies and auto-replies that reached them; never notes or status changes),
goes once per close (the close's timeline item remembers it), and is sent through
Django's email from the Email Channel's address when there is one.
"""

import logging
from datetime import timedelta
from email.utils import formataddr

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from channels_app.models import EntryPoint
from conversations.models import Conversation, TimelineItem
from conversations.routing import route
from conversations.senders import sender_for

from . import visitors
from .models import ChatVisitor, ChatWidget
from .visitors import SHOWN_KINDS

logger = logging.getLogger(__name__)

# On the close's timeline item: "transcript" is pending, sent or failed; "transcript_sent_to" the address.
STATE = "transcript"
SENT_FLAG = "transcript_sent_to"
PENDING, SENT, FAILED = "pending", "sent", "failed"
# A pending transcript older than this was not enqueued (the broker was down): the beat sweeper sends it.
SWEEP_AFTER = timedelta(minutes=10)
SWEEP_WITHIN = timedelta(days=1)


def visitor_of(conversation: Conversation) -> ChatVisitor | None:
    """The chat visitor whose conversation this is (their identity at the widget's Entry Point)."""
    identity = conversation.customer.identities.filter(entry_point_id=conversation.entry_point_id).first()
    if identity is None:
        return None
    return ChatVisitor.objects.filter(
        widget__entry_point_id=conversation.entry_point_id, visitor_id=identity.external_id
    ).first()


def close_item(conversation: Conversation) -> TimelineItem | None:
    """The timeline item of the conversation's latest close."""
    return (
        conversation.items.filter(kind=TimelineItem.Kind.STATUS_CHANGE, metadata__change="closed")
        .order_by("-occurred_at", "-pk")
        .first()
    )


def wants_transcript(conversation: Conversation) -> bool:
    if conversation.entry_point.kind != EntryPoint.Kind.CHAT_WIDGET:
        return False
    visitor = visitor_of(conversation)
    return visitor is not None and bool(visitor.email)


def sender_address(conversation: Conversation, widget: ChatWidget) -> tuple[str, str]:
    """(From, Reply-To): the Email Channel's address that feeds this chat's Inbox, else any active
    one, so the visitor's answer lands in the inbox as an email; DEFAULT_FROM_EMAIL when there is none.
    From is the address's "send from" when it has one."""
    email_entry_points = EntryPoint.objects.filter(kind=EntryPoint.Kind.EMAIL_ADDRESS, active=True).order_by("pk")
    chosen = (
        next(
            (ep for ep in email_entry_points if conversation.inbox_id and route(ep).inbox == conversation.inbox),
            None,
        )
        or email_entry_points.first()
    )
    if chosen is None:
        return settings.DEFAULT_FROM_EMAIL, ""
    # From the address's "send from" when it has one (as its own replies go); answers come back to it.
    sender = sender_for(chosen)
    from_address = (sender.sends_from(chosen) if sender else "") or chosen.external_id
    return formataddr((widget.name, from_address)), chosen.external_id


def _seen_by_the_visitor(conversation: Conversation):
    return conversation.items.filter(kind__in=SHOWN_KINDS, deleted_by_customer=False).exclude(
        delivery_status__in=[TimelineItem.Delivery.QUEUED, TimelineItem.Delivery.FAILED]
    )


def transcript_items(conversation: Conversation) -> list[TimelineItem]:
    """What the visitor saw, oldest first: no notes, no status changes, nothing that never reached them."""
    return list(
        _seen_by_the_visitor(conversation)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("occurred_at", "pk")
    )


def build_transcript(conversation: Conversation, visitor: ChatVisitor) -> EmailMultiAlternatives:
    widget = visitor.widget
    lines = []
    for item in transcript_items(conversation):
        if item.direction == TimelineItem.Direction.INBOUND:
            who = visitor.name or "You"
        elif item.author is not None:
            who = item.author.first_name or widget.name
        else:
            who = widget.name
        lines.append(
            {
                "at": item.occurred_at,
                "who": who,
                "mine": item.direction == TimelineItem.Direction.INBOUND,
                "text": item.text,
                "files": [attachment.filename or attachment.kind for attachment in item.attachments.all()],
            }
        )
    from_email, reply_to = sender_address(conversation, widget)
    # Times as the visitor's clock tells them (their browser's zone), else the server's, named.
    zone = visitors.time_zone_or_none(visitor.time_zone) or timezone.get_current_timezone()
    context = {
        "widget": widget,
        "visitor": visitor,
        "lines": lines,
        "can_reply": bool(reply_to),
        "time_zone": getattr(zone, "key", str(zone)),
    }
    with timezone.override(zone):
        text = render_to_string("chat/transcript_email.txt", context)
        html = render_to_string("chat/transcript_email.html", context)
    message = EmailMultiAlternatives(
        subject=f"Your chat with {widget.name}",
        body=text,
        from_email=from_email,
        to=[visitor.email],
        reply_to=[reply_to] if reply_to else None,
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    return message


def send_transcript(conversation_id: int, close_item_id: int) -> str:
    """Email the transcript for one close of a chat conversation, once; returns what happened.

    A failure to send raises (the task retries); the close item is only marked after the mail went."""
    with transaction.atomic():
        item = (
            TimelineItem.objects.select_for_update()
            .filter(pk=close_item_id, conversation_id=conversation_id, kind=TimelineItem.Kind.STATUS_CHANGE)
            .first()
        )
        if item is None:
            return "no such close"
        if item.metadata.get(SENT_FLAG):
            return "already sent"
        conversation = Conversation.objects.select_related("entry_point", "customer").get(pk=conversation_id)
        visitor = visitor_of(conversation)
        if visitor is None or not visitor.email:
            return "no address"
        build_transcript(conversation, visitor).send()
        item.metadata.update({STATE: SENT, SENT_FLAG: visitor.email})
        item.save(update_fields=["metadata"])
    logger.info("Chat transcript of conversation %s sent", conversation_id)
    return "sent"


# A visitor may ask for the transcript this often (it goes to the address they left, not one they type).
ASK_EVERY = timedelta(minutes=10)


def latest_conversation(visitor: ChatVisitor) -> Conversation | None:
    """The conversation the widget shows: the one going on, else the latest."""
    return visitors.conversations_of(visitor).order_by(F("closed_at").desc(nulls_first=True), "-opened_at").first()


def ask_for_transcript(visitor: ChatVisitor) -> Conversation:
    """The visitor asks for their chat by email, now: the conversation to send (the task sends it).

    Refused (with what to do) without an address, with nothing said yet, or when asked again
    within ASK_EVERY."""
    if not visitor.email:
        raise visitors.Refused("Leave your email address first, then ask again.")
    conversation = latest_conversation(visitor)
    if conversation is None or not _seen_by_the_visitor(conversation).exists():
        raise visitors.Refused("There is nothing to send yet: write to us first.")
    if not cache.add(_asked_key(visitor), True, timeout=int(ASK_EVERY.total_seconds())):
        minutes = int(ASK_EVERY.total_seconds() // 60)
        raise visitors.Refused(
            f"A transcript is on its way to {visitor.email}. You can ask again in {minutes} minutes."
        )
    return conversation


def forget_asking(visitor: ChatVisitor) -> None:
    """The request went nowhere (the broker was down): the visitor may ask again at once."""
    cache.delete(_asked_key(visitor))


def _asked_key(visitor: ChatVisitor) -> str:
    return f"chat-transcript-asked:{visitor.visitor_id}"  # random, never reused like a row id


def send_asked_transcript(conversation_id: int, visitor_id: int) -> str:
    """Email the transcript the visitor asked for (a failure raises: the task retries)."""
    visitor = ChatVisitor.objects.select_related("widget").filter(pk=visitor_id).first()
    conversation = Conversation.objects.select_related("entry_point", "customer").filter(pk=conversation_id).first()
    if visitor is None or conversation is None or visitor_of(conversation) != visitor:
        return "no such chat"
    if not visitor.email:
        return "no address"
    build_transcript(conversation, visitor).send()
    logger.info("Chat transcript of conversation %s sent on the visitor's request", conversation_id)
    return "sent"


def mark_pending(item: TimelineItem) -> None:
    """The close will send a transcript (the sweeper finds it if the task never runs)."""
    item.metadata[STATE] = PENDING
    item.save(update_fields=["metadata"])


def mark_failed(close_item_id: int, reason: str) -> None:
    """The task gave up: kept on the close item, and not swept again."""
    item = TimelineItem.objects.filter(pk=close_item_id).first()
    if item is not None and not item.metadata.get(SENT_FLAG):
        item.metadata[STATE] = f"{FAILED}: {reason}"[:500]
        item.save(update_fields=["metadata"])


def unsent_closes(now=None) -> list[tuple[int, int]]:
    """(conversation id, close item id) of transcripts still pending a while after the close."""
    now = now or timezone.now()
    items = TimelineItem.objects.filter(
        kind=TimelineItem.Kind.STATUS_CHANGE,
        metadata__transcript=PENDING,
        occurred_at__lte=now - SWEEP_AFTER,
        occurred_at__gte=now - SWEEP_WITHIN,
    )
    return list(items.values_list("conversation_id", "pk"))
