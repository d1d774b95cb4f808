"""What agents (and automations) send to customers, and how it reaches Meta.

`send_reply`, `send_like` and `send_auto_reply` write the timeline item as
`queued` and an outbound queue row in one transaction and enqueue the
account's drainer on commit. `drain_account` sends the queue in order within
the per-account rate limit and records honest delivery states.
"""

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from channels_app import limiter
from channels_app.meta import send as send_api
from channels_app.meta.graph import GraphError
from channels_app.models import InstagramAccount, OutboundMessage

from . import signals
from .models import Conversation, CustomerIdentity, TimelineItem

logger = logging.getLogger(__name__)

MESSAGING_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
LEASE_SECONDS = 60
# How long a send whose outcome we did not record waits for Meta's echo
# before it is sent again (a worker died between Meta's answer and our commit).
IN_DOUBT_GRACE = timedelta(minutes=2)
MAX_TRANSIENT_ATTEMPTS = 5
RATE_LIMIT_BACKOFF = timedelta(minutes=1)
# Waits for a free slot up to this long happen inside the drainer.
SHORT_WAIT_SECONDS = 5.0


class SendRefused(Exception):
    """The message cannot be sent; the reason is meant for the agent."""


# --- queueing ------------------------------------------------------------------


def _account_and_recipient(conversation: Conversation) -> tuple[InstagramAccount, str]:
    try:
        account = conversation.entry_point.instagram_account
    except InstagramAccount.DoesNotExist:
        raise SendRefused("This conversation's entry point cannot send messages.") from None
    identity = CustomerIdentity.objects.filter(
        customer_id=conversation.customer_id, entry_point_id=conversation.entry_point_id
    ).first()
    if identity is None:
        raise SendRefused("The customer has no Instagram identity at this account.")
    return account, identity.external_id


def window_tag(conversation: Conversation, *, automatic: bool = False, now=None) -> str:
    """The Send API tag a message needs now ("" inside 24 h, HUMAN_AGENT within 7 days).

    Raises SendRefused when it cannot be sent at all. Automatic messages are
    never sent outside the 24-hour window.
    """
    last = conversation.last_customer_message_at
    if last is None:
        raise SendRefused("The customer has not written yet, so Instagram does not allow a message.")
    age = (now or timezone.now()) - last
    if age <= MESSAGING_WINDOW:
        return ""
    if automatic:
        raise SendRefused("Auto-replies are only sent within 24 hours of the customer's last message.")
    if age <= HUMAN_AGENT_WINDOW:
        return send_api.HUMAN_AGENT
    raise SendRefused(
        "More than 7 days have passed since the customer's last message; "
        "Instagram allows replies again when the customer writes."
    )


def enqueue_drain(account_id: int) -> None:
    transaction.on_commit(lambda: _kick(account_id))


def _kick(account_id: int, countdown: float = 0) -> None:
    try:
        current_app.send_task("conversations.tasks.drain_account", args=[account_id], countdown=countdown)
    except Exception as error:
        # The beat task re-kicks accounts with a backlog; nothing is lost.
        logger.warning("Drain of account %s not enqueued: %s", account_id, error)


def _queue(conversation, *, kind, item_kind, author, text="", payload, reply_to=None, automatic=False):
    account, recipient_id = _account_and_recipient(conversation)
    window_tag(conversation, automatic=automatic)
    now = timezone.now()
    with transaction.atomic():
        item = TimelineItem.objects.create(
            conversation=conversation,
            entry_point_id=conversation.entry_point_id,
            kind=item_kind,
            direction=TimelineItem.Direction.OUTBOUND,
            author=author,
            text=text,
            occurred_at=now,
            created_at=now,
            delivery_status=TimelineItem.Delivery.QUEUED,
            reply_to=reply_to,
        )
        OutboundMessage.objects.create(
            account=account, item=item, kind=kind, recipient_id=recipient_id, payload=payload, created_at=now
        )
        Conversation.touch(conversation.pk)
        enqueue_drain(account.pk)
        if item_kind == TimelineItem.Kind.AGENT_MESSAGE:
            signals.agent_message_queued.send(sender=TimelineItem, conversation=conversation, item=item)
    return item


def send_reply(conversation: Conversation, agent, text: str) -> TimelineItem:
    """Queue an agent's text reply to the customer."""
    text = (text or "").strip()
    if not text:
        raise SendRefused("Write a message first.")
    if len(text) > 1000:
        raise SendRefused(f"Instagram messages can have at most 1000 characters; this one has {len(text)}.")
    return _queue(
        conversation,
        kind=OutboundMessage.Kind.TEXT,
        item_kind=TimelineItem.Kind.AGENT_MESSAGE,
        author=agent,
        text=text,
        payload={"text": text},
    )


def send_like(item: TimelineItem, agent) -> TimelineItem:
    """Queue a heart reaction on a customer's message (Meta maps every reaction to a heart)."""
    if item.kind not in (TimelineItem.Kind.CUSTOMER_MESSAGE, TimelineItem.Kind.STORY_REPLY) or not item.external_id:
        raise SendRefused("Only a customer's message can be liked.")
    if item.deleted_by_customer:
        raise SendRefused("The customer deleted this message.")
    return _queue(
        item.conversation,
        kind=OutboundMessage.Kind.REACTION,
        item_kind=TimelineItem.Kind.AGENT_LIKE,
        author=agent,
        payload={"message_id": item.external_id, "reaction": "love"},
        reply_to=item,
    )


def send_auto_reply(conversation: Conversation, text: str, *, source: str = "") -> TimelineItem:
    """Queue an automatic reply (Rules, Business Hours). It never counts as an agent reply."""
    item = _queue(
        conversation,
        kind=OutboundMessage.Kind.TEXT,
        item_kind=TimelineItem.Kind.AUTO_REPLY,
        author=None,
        text=text,
        payload={"text": text, "automatic": True},
        automatic=True,
    )
    if source:
        item.metadata = {"source": source}
        item.save(update_fields=["metadata"])
    return item


def retry(item: TimelineItem, agent) -> TimelineItem:
    """Queue a failed message again (the agent pressed Retry)."""
    item = TimelineItem.objects.select_related("conversation").get(pk=item.pk)
    outbound = OutboundMessage.objects.filter(item=item).first()
    if outbound is None or item.delivery_status != TimelineItem.Delivery.FAILED:
        raise SendRefused("Only a failed message can be retried.")
    window_tag(item.conversation, automatic=item.kind == TimelineItem.Kind.AUTO_REPLY)
    if outbound.account.sends_paused:
        raise SendRefused("The Instagram account needs reauthorization by an admin before messages can be sent.")
    with transaction.atomic():
        outbound.status = OutboundMessage.Status.QUEUED
        outbound.attempts = 0
        outbound.next_attempt_at = timezone.now()
        outbound.last_error = ""
        outbound.idempotency_key = uuid.uuid4()
        outbound.save(update_fields=["status", "attempts", "next_attempt_at", "last_error", "idempotency_key"])
        item.delivery_status = TimelineItem.Delivery.QUEUED
        item.failure_reason = ""
        item.save(update_fields=["delivery_status", "failure_reason"])
        Conversation.touch(item.conversation_id)
        enqueue_drain(outbound.account_id)
        if item.kind == TimelineItem.Kind.AGENT_MESSAGE:
            signals.agent_message_queued.send(sender=TimelineItem, conversation=item.conversation, item=item)
    return item


# --- draining ------------------------------------------------------------------


@dataclass(frozen=True)
class DrainResult:
    sent: int = 0
    # Seconds until the drainer should run again; None when nothing is due.
    again_in: float | None = None


def take_lease(account_id: int, owner: str, now=None) -> bool:
    """At most one active drainer per account; a crashed drainer's lease expires."""
    now = now or timezone.now()
    return bool(
        InstagramAccount.objects.filter(pk=account_id)
        .filter(Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now) | Q(drain_lease_owner=owner))
        .update(drain_lease_until=now + timedelta(seconds=LEASE_SECONDS), drain_lease_owner=owner)
    )


def release_lease(account_id: int, owner: str) -> None:
    InstagramAccount.objects.filter(pk=account_id, drain_lease_owner=owner).update(
        drain_lease_until=None, drain_lease_owner=""
    )


def drain_account(account_id: int, owner: str | None = None, max_seconds: float = 50) -> DrainResult:
    """Send the account's due queue in order while the limiter grants slots."""
    owner = owner or uuid.uuid4().hex
    if not take_lease(account_id, owner):
        return DrainResult()  # another drainer is at work; it picks our messages up
    sent, again_in = 0, None
    started = timezone.now()
    try:
        while True:
            account = InstagramAccount.objects.get(pk=account_id)
            if account.sends_paused:
                break
            message, wait = _next_due(account)
            if message is None:
                again_in = wait
                break
            grant = limiter.acquire_slot(account.pk, message.pk)
            if not grant.granted:
                again_in = max((grant.next_free_at - timezone.now()).total_seconds(), 0.01)
                if again_in > SHORT_WAIT_SECONDS or _elapsed(started) + again_in > max_seconds:
                    break
                # A slot frees within a moment: wait here rather than round-trip
                # through the broker, which would waste part of the budget.
                time.sleep(again_in)
                again_in = None
                take_lease(account_id, owner)
                continue
            outcome = _send_one(account, message, grant.slot_id)
            sent += outcome == "sent"
            if outcome == "rate_limited":
                again_in = RATE_LIMIT_BACKOFF.total_seconds()
                break
            if _elapsed(started) > max_seconds:
                again_in = 0.01
                break
            take_lease(account_id, owner)  # renew
    finally:
        release_lease(account_id, owner)
    return DrainResult(sent, again_in)


def _elapsed(started) -> float:
    return (timezone.now() - started).total_seconds()


def _next_due(account) -> tuple[OutboundMessage | None, float | None]:
    """The first message that may go now, keeping each customer's order.

    Returns (message, None) or (None, seconds until one is due / None if none).
    """
    now = timezone.now()
    blocked, earliest = set(), None
    pending = OutboundMessage.objects.filter(
        account=account, status__in=[OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING]
    ).order_by("id")[:500]
    for message in pending:
        if message.status == OutboundMessage.Status.SENDING:
            message = _resolve_in_doubt(message, now)
            if message is None:
                continue
        if message.recipient_id in blocked:
            continue
        if message.status == OutboundMessage.Status.SENDING or message.next_attempt_at > now:
            blocked.add(message.recipient_id)
            due = message.next_attempt_at
            earliest = due if earliest is None or due < earliest else earliest
            continue
        return message, None
    if earliest is None:
        return None, None
    return None, max((earliest - now).total_seconds(), 0.01)


def _resolve_in_doubt(message: OutboundMessage, now) -> OutboundMessage | None:
    """A message left `sending` by a drainer that died mid-call.

    If Meta's echo told us its message id, it was sent. Otherwise wait for the
    echo a short while; after that, send it again (it is queued).
    """
    if message.message_id:
        _record_sent(message, message.message_id)
        return None
    if message.next_attempt_at > now:
        return message  # still within the grace period: blocks its customer
    logger.warning("Outbound %s: no answer or echo recorded; sending it again", message.pk)
    message.status = OutboundMessage.Status.QUEUED
    message.save(update_fields=["status"])
    return message


def _send_one(account: InstagramAccount, message: OutboundMessage, slot_id: int) -> str:
    item = message.item
    conversation = item.conversation
    try:
        tag = window_tag(conversation, automatic=bool(message.payload.get("automatic")))
    except SendRefused as refused:
        limiter.release_slot(slot_id)
        _record_failed(message, str(refused))
        return "failed"

    message.status = OutboundMessage.Status.SENDING
    message.attempts += 1
    message.next_attempt_at = timezone.now() + IN_DOUBT_GRACE
    message.save(update_fields=["status", "attempts", "next_attempt_at"])
    try:
        if message.kind == OutboundMessage.Kind.REACTION:
            message_id = send_api.send_reaction(
                account.page_access_token, account.page_id, message.recipient_id, message.payload["message_id"]
            )
        else:
            message_id = send_api.send_message(
                account.page_access_token,
                account.page_id,
                message.recipient_id,
                _message_body(message.payload),
                tag=tag,
            )
    except GraphError as error:
        if error.reached_meta:
            limiter.confirm_slot(slot_id)
        return _handle_error(account, message, slot_id, error)
    limiter.confirm_slot(slot_id)
    _record_sent(message, message_id)
    return "sent"


def _message_body(payload: dict) -> dict:
    if payload.get("attachment_url"):
        return {
            "attachment": {
                "type": payload.get("attachment_type", "image"),
                "payload": {"url": payload["attachment_url"]},
            }
        }
    return {"text": payload["text"]}


def _handle_error(account, message: OutboundMessage, slot_id: int, error: GraphError) -> str:
    if not error.reached_meta:
        limiter.release_slot(slot_id)
    if error.token_invalid:
        limiter.release_slot(slot_id)
        _requeue(message, timezone.now(), str(error))
        from channels_app.instagram import mark_needs_reauthorization

        mark_needs_reauthorization(account, f"Meta refused the page token: {error.message}")
        return "paused"
    if error.rate_limited:
        # Meta counted the call against its own limits: keep our slot and back off.
        _requeue(message, timezone.now() + RATE_LIMIT_BACKOFF, str(error))
        return "rate_limited"
    if error.transient:
        if message.attempts >= MAX_TRANSIENT_ATTEMPTS:
            _record_failed(message, f"Instagram did not accept the message after {message.attempts} tries ({error}).")
            return "failed"
        backoff = min(2**message.attempts, 300) * (0.5 + random.random())
        _requeue(message, timezone.now() + timedelta(seconds=backoff), str(error))
        return "retry"
    _record_failed(message, failure_reason(error))
    return "failed"


def failure_reason(error: GraphError) -> str:
    """Meta's refusal in plain words for the agent."""
    if error.outside_window:
        return (
            "Instagram refused it: the customer's messaging window has closed. "
            "You can reply again when the customer writes."
        )
    if error.user_unavailable:
        return "This person isn't available right now (they may have blocked the account or left Instagram)."
    if error.code == 200:
        return f"The Instagram account lacks a permission for this: {error.message}"
    return f"Instagram refused the message: {error.message}"


def _requeue(message: OutboundMessage, at, error: str) -> None:
    message.status = OutboundMessage.Status.QUEUED
    message.next_attempt_at = at
    message.last_error = error
    message.save(update_fields=["status", "next_attempt_at", "last_error"])


def _record_sent(message: OutboundMessage, message_id: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        message.status = OutboundMessage.Status.SENT
        message.message_id = message_id
        message.sent_at = now
        message.last_error = ""
        message.save(update_fields=["status", "message_id", "sent_at", "last_error"])
        item = TimelineItem.objects.select_for_update().get(pk=message.item_id)
        fields = ["delivery_status"]
        if item.delivery_status in (TimelineItem.Delivery.QUEUED, TimelineItem.Delivery.FAILED, ""):
            item.delivery_status = TimelineItem.Delivery.SENT
        if message_id and not item.external_id:
            taken = TimelineItem.objects.filter(entry_point_id=item.entry_point_id, external_id=message_id).exists()
            if not taken:
                item.external_id = message_id
                fields.append("external_id")
        item.save(update_fields=fields)
        Conversation.touch(item.conversation_id)
    signals.outbound_sent.send(sender=TimelineItem, item=item, message_id=message_id)


def _record_failed(message: OutboundMessage, reason: str) -> None:
    with transaction.atomic():
        message.status = OutboundMessage.Status.FAILED
        message.last_error = reason
        message.save(update_fields=["status", "last_error"])
        item = message.item
        item.delivery_status = TimelineItem.Delivery.FAILED
        item.failure_reason = reason
        item.save(update_fields=["delivery_status", "failure_reason"])
        Conversation.touch(item.conversation_id)
    signals.outbound_failed.send(sender=TimelineItem, item=item, reason=reason)


def accounts_with_stale_backlog(older_than=timedelta(minutes=1)):
    """Accounts with due queued messages and no live drainer (for the beat task)."""
    now = timezone.now()
    return (
        InstagramAccount.objects.filter(
            outbound_messages__status__in=[OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING],
            outbound_messages__next_attempt_at__lte=now - older_than,
        )
        .filter(Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now))
        .exclude(status__in=[InstagramAccount.Status.NEEDS_REAUTHORIZATION, InstagramAccount.Status.REMOVED])
        .values_list("pk", flat=True)
        .distinct()
    )
