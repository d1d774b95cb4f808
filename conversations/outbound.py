"""What agents (and automations) send to customers, and how it reaches the provider.

`send_reply`, `send_like` and `send_auto_reply` write the timeline item as
`queued` and an outbound queue row in one transaction and enqueue the Entry
Point's drainer on commit. `drain_entry_point` sends the queue in order per
customer within the sender's rate limit and records honest delivery states.
The provider's part (its window policy, limits and the call itself) is the
Entry Point's sender (`conversations.senders`), registered by its adapter.
"""

import logging
import random
import re
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format

from channels_app.models import EntryPoint

from . import limiter, media_types, signals
from .attachments import kind_of, store_content
from .models import Attachment, Conversation, OutboundMessage, TimelineItem
from .senders import ChannelSender, ReplyWindow, SendFailed, SendRefused, sender_for
from .window import reply_window

logger = logging.getLogger(__name__)

LEASE_SECONDS = 60
# How long a send whose outcome we did not record waits for the provider's echo
# before it is sent again (a worker died between the provider's answer and our commit).
IN_DOUBT_GRACE = timedelta(minutes=2)
MAX_TRANSIENT_ATTEMPTS = 5
RATE_LIMIT_BACKOFF = timedelta(minutes=1)
# Waits for a free slot up to this long happen inside the drainer (about a send's round
# trip: the next slot of a burst); longer ones free the worker for other Entry Points and
# come back through a Celery task due exactly when the slot frees.
SHORT_WAIT_SECONDS = 0.5

__all__ = [
    "SendRefused",
    "drain_entry_point",
    "queued_reasons",
    "retry",
    "send_auto_reply",
    "send_like",
    "send_files",
    "send_reply",
    "send_template",
    "sending_state",
    "templates",
]


# --- queueing ------------------------------------------------------------------


def _sender(conversation: Conversation) -> ChannelSender:
    sender = sender_for(conversation.entry_point)
    if sender is None:
        raise SendRefused("This conversation's entry point cannot send messages.")
    removed = sender.removed_reason(conversation.entry_point)
    if removed:
        raise SendRefused(removed)
    return sender


def check_window(
    conversation: Conversation, *, automatic: bool = False, template: bool = False, now=None
) -> ReplyWindow:
    """The reply window if a message may go now; SendRefused with the reason otherwise.

    A template (WhatsApp's approved messages) may also go when the window allows templates only."""
    window = reply_window(conversation, now)
    if template and window.state == ReplyWindow.TEMPLATES_ONLY:
        return window
    if not window.can_reply:
        raise SendRefused(window.reason or "A reply cannot reach the customer now.")
    if automatic and not window.allows_automatic:
        raise SendRefused("Auto-replies are only sent within 24 hours of the customer's last message.")
    return window


def enqueue_drain(entry_point_id: int) -> None:
    """Have the Entry Point's queue drained once the transaction commits (see `_kick`)."""
    transaction.on_commit(lambda: _kick(entry_point_id))


def _kick(entry_point_id: int) -> None:
    """Enqueue a drain of the Entry Point holding its lease, or nothing while the lease is held.

    A held lease means a drain at work, its continuation due, or a kick still in the queue:
    each of those sends what is queued now (a drain looks for due messages once more after
    letting go of its lease). So there is one kick per Entry Point at a time, not one per
    reply, and a continuation never waits behind a queue of them (Redis has no delayed
    delivery: a task due now reaches a worker after every task ahead of it)."""
    owner = uuid.uuid4().hex
    if not take_lease(entry_point_id, owner):
        return
    try:
        current_app.send_task("conversations.tasks.drain_entry_point", args=[entry_point_id], kwargs={"owner": owner})
    except Exception as error:
        # The next reply kicks again, and the beat task re-kicks entry points with a backlog.
        release_lease(entry_point_id, owner)
        logger.warning("Drain of entry point %s not enqueued: %s", entry_point_id, error)


def _queue(conversation, *, kind, item_kind, author, text="", payload, reply_to=None, automatic=False, metadata=None):
    sender = _sender(conversation)
    check_window(conversation, automatic=automatic, template="template" in payload)
    sender.validate(conversation, kind, payload)
    recipient_id = sender.recipient_id(conversation)
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
            metadata=metadata or {},
        )
        OutboundMessage.objects.create(
            entry_point_id=conversation.entry_point_id,
            item=item,
            kind=kind,
            recipient_id=recipient_id,
            payload=payload,
            created_at=now,
        )
        # A like marks the liked message: an item already shown changes.
        Conversation.touch(conversation.pk, items_changed=item_kind == TimelineItem.Kind.AGENT_LIKE)
        enqueue_drain(conversation.entry_point_id)
        if item_kind == TimelineItem.Kind.AGENT_MESSAGE:
            signals.agent_message_queued.send(sender=TimelineItem, conversation=conversation, item=item)
    return item


def send_reply(conversation: Conversation, agent, text: str) -> TimelineItem:
    """Queue an agent's text reply to the customer."""
    text = (text or "").strip()
    if not text:
        raise SendRefused("Write a message first.")
    return _queue(
        conversation,
        kind=OutboundMessage.Kind.TEXT,
        item_kind=TimelineItem.Kind.AGENT_MESSAGE,
        author=agent,
        text=text,
        payload={"text": text},
    )


def attachment_limits(conversation: Conversation):
    """The files the conversation's channel sends (AttachmentLimits), or None when it sends none yet."""
    sender = sender_for(conversation.entry_point)
    return sender.attachment_limits(conversation) if sender is not None else None


def _checked_files(conversation, files) -> tuple[ChannelSender, object, list[tuple[str, bytes, str]]]:
    sender = _sender(conversation)
    limits = sender.attachment_limits(conversation)
    label = sender.label or "This channel"
    if limits is None:
        raise SendRefused(f"Sending files is not supported on {label} yet. Send a link instead.")
    if not files:
        raise SendRefused("Choose a file first.")
    if len(files) > limits.max_count:
        raise SendRefused(
            f"{label} sends at most {limits.max_count} file{'s' if limits.max_count != 1 else ''} at once."
        )
    checked = []
    for name, content in files:
        mime = media_types.detect(content).mime
        kind = kind_of(mime)
        if kind not in limits.max_bytes:
            allowed = ", ".join(limits.max_bytes)
            raise SendRefused(f"{label} can't send {name} (a {kind}); it sends {allowed}.")
        if not limits.accepts(kind, mime):
            raise SendRefused(f"{label} can't send {name}: its {kind}s must be {limits.types[kind][0]}.")
        if len(content) > limits.max_bytes[kind]:
            size = limits.max_bytes[kind] // 1_000_000
            raise SendRefused(f"{name} is too large for {label}: {kind}s up to {size} MB.")
        checked.append((name, content, kind))
    return sender, limits, checked


def _attach(item: TimelineItem, name: str, content: bytes, kind: str) -> Attachment:
    attachment = Attachment.objects.create(item=item, kind=kind, filename=name[:255])
    return store_content(attachment, content, name)


def send_files(conversation: Conversation, agent, files: list[tuple[str, bytes]], text: str = "") -> list[TimelineItem]:
    """Queue an agent's files (with their text) the channel's way, after checking its limits.

    Channels that send text and files together (email) get one message; the
    others (Meta's Send API) a text message and one message per file, each
    file at a signed public link of ours (`attachments.public_url`)."""
    _, limits, checked = _checked_files(conversation, files)
    text = (text or "").strip()
    items = []
    with transaction.atomic():
        if limits.together:
            item = _queue(
                conversation,
                kind=OutboundMessage.Kind.ATTACHMENT,
                item_kind=TimelineItem.Kind.AGENT_MESSAGE,
                author=agent,
                text=text,
                payload={"text": text},
            )
            ids = [_attach(item, name, content, kind).pk for name, content, kind in checked]
            OutboundMessage.objects.filter(item=item).update(payload={"text": text, "attachment_ids": ids})
            return [item]
        if text:
            items.append(send_reply(conversation, agent, text))
        for name, content, kind in checked:
            item = _queue(
                conversation,
                kind=OutboundMessage.Kind.ATTACHMENT,
                item_kind=TimelineItem.Kind.AGENT_MESSAGE,
                author=agent,
                payload={"attachment_type": kind},
            )
            attachment = _attach(item, name, content, kind)
            OutboundMessage.objects.filter(item=item).update(
                payload={"attachment_type": kind, "attachment_id": attachment.pk}
            )
            items.append(item)
    return items


def templates(conversation: Conversation) -> list[dict]:
    """The message templates the conversation's channel offers (WhatsApp's approved ones); [] for most."""
    sender = sender_for(conversation.entry_point)
    return sender.templates(conversation) if sender is not None else []


def send_template(conversation: Conversation, agent, template_id: str, variables: dict) -> TimelineItem:
    """Queue one of the channel's templates with its variables filled in (the way to write outside
    WhatsApp's 24-hour window). The timeline shows the text the customer receives."""
    template = next((t for t in templates(conversation) if str(t["id"]) == str(template_id)), None)
    if template is None:
        raise SendRefused("Choose one of the approved templates.")
    values = {}
    for variable in template.get("variables", []):
        key = f"{variable['component']}:{variable['name']}"
        value = str(variables.get(key, "")).strip()
        if not value:
            raise SendRefused(f"Fill in {{{{{variable['name']}}}}} of the template.")
        values[key] = value
    text = render_template_text(template.get("text", ""), values) or template["name"]
    return _queue(
        conversation,
        kind=OutboundMessage.Kind.TEXT,
        item_kind=TimelineItem.Kind.AGENT_MESSAGE,
        author=agent,
        text=text,
        payload={"template": {"id": str(template["id"]), "variables": values}, "text": text},
        metadata={"template": template["name"]},
    )


def render_template_text(text: str, values: dict) -> str:
    """A template's body with its {{1}} / {{name}} placeholders filled in from body:NAME values."""
    for key, value in values.items():
        component, _, name = key.partition(":")
        if component == "body":
            text = re.sub(r"\{\{\s*" + re.escape(name) + r"\s*\}\}", value, text)
    return text


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
    return _queue(
        conversation,
        kind=OutboundMessage.Kind.TEXT,
        item_kind=TimelineItem.Kind.AUTO_REPLY,
        author=None,
        text=text,
        payload={"text": text, "automatic": True},
        automatic=True,
        metadata={"source": source} if source else None,
    )


def retry(item: TimelineItem, agent) -> TimelineItem:
    """Queue a failed message again (the agent pressed Retry)."""
    item = TimelineItem.objects.select_related("conversation__entry_point").get(pk=item.pk)
    outbound = OutboundMessage.objects.filter(item=item).first()
    if outbound is None or item.delivery_status != TimelineItem.Delivery.FAILED:
        raise SendRefused("Only a failed message can be retried.")
    sender = _sender(item.conversation)
    check_window(
        item.conversation, automatic=item.kind == TimelineItem.Kind.AUTO_REPLY, template="template" in outbound.payload
    )
    paused = sender.paused_reason(item.conversation.entry_point)
    if paused:
        raise SendRefused(paused)
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
        enqueue_drain(outbound.entry_point_id)
        if item.kind == TimelineItem.Kind.AGENT_MESSAGE:
            signals.agent_message_queued.send(sender=TimelineItem, conversation=item.conversation, item=item)
    return item


def fail_queued(entry_point_id: int, reason: str) -> int:
    """Mark everything still queued at an Entry Point failed (it was removed); Retry works once it is back."""
    waiting = OutboundMessage.objects.filter(
        entry_point_id=entry_point_id, status__in=[OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING]
    ).select_related("item")
    count = 0
    for message in waiting:
        record_failed(message, reason)
        count += 1
    return count


# --- why queued messages wait ---------------------------------------------------


@dataclass(frozen=True)
class SendingState:
    """Whether the Entry Point's queue moves now, and if not why, in the agent's words."""

    reason: str = ""
    # True when nothing goes until someone acts (paused, removed); False when it only waits for time.
    blocked: bool = False

    @property
    def waiting(self) -> bool:
        return bool(self.reason)


def _clock(moment) -> str:
    return date_format(timezone.localtime(moment), "H:i")


def sending_state(entry_point, now=None) -> SendingState:
    """Why replies at this Entry Point wait now: removed, paused (e.g. needs reauthorization), or its budget."""
    sender = sender_for(entry_point)
    if sender is None:
        return SendingState("This conversation's entry point cannot send messages.", blocked=True)
    removed = sender.removed_reason(entry_point)
    if removed:
        return SendingState(removed, blocked=True)
    paused = sender.paused_reason(entry_point)
    if paused:
        return SendingState(paused, blocked=True)
    limit = sender.rate_limit(entry_point)
    if limit is not None:
        frees_at = limiter.next_free_at(entry_point.pk, limit, now)
        if frees_at is not None:
            return SendingState(f"Waiting: the account's send budget frees at {_clock(frees_at)}.")
    return SendingState()


def queued_reasons(items, state: SendingState, now=None) -> dict[int, str]:
    """Each queued item's reason for waiting: the Entry Point's, or its own retry after a provider error."""
    now = now or timezone.now()
    queued = [item.pk for item in items if item.delivery_status == TimelineItem.Delivery.QUEUED]
    if not queued:
        return {}
    reasons = {}
    for message in OutboundMessage.objects.filter(item_id__in=queued, status=OutboundMessage.Status.QUEUED):
        if state.reason:
            reasons[message.item_id] = state.reason
        elif message.next_attempt_at > now and message.last_error:
            reasons[message.item_id] = (
                f"Waiting: trying again at {_clock(message.next_attempt_at)} ({message.last_error})"
            )
    return reasons


# --- draining ------------------------------------------------------------------


@dataclass(frozen=True)
class DrainResult:
    sent: int = 0
    # Seconds until the drainer should run again; None when nothing is due.
    again_in: float | None = None
    # When it should run again, exactly (the moment a slot frees), if known.
    again_at: object = None
    # The lease kept for that continuation (the Entry Point waits for its budget): the
    # continuation drains as this owner, and other drainers find the lease taken meanwhile.
    lease_owner: str = ""


def take_lease(entry_point_id: int, owner: str, now=None) -> bool:
    """At most one active drainer per Entry Point; a crashed drainer's lease expires."""
    now = now or timezone.now()
    return bool(
        EntryPoint.objects.filter(pk=entry_point_id)
        .filter(Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now) | Q(drain_lease_owner=owner))
        .update(drain_lease_until=now + timedelta(seconds=LEASE_SECONDS), drain_lease_owner=owner)
    )


def release_lease(entry_point_id: int, owner: str) -> None:
    EntryPoint.objects.filter(pk=entry_point_id, drain_lease_owner=owner).update(
        drain_lease_until=None, drain_lease_owner=""
    )


def keep_lease_until(entry_point_id: int, owner: str, moment) -> None:
    """Keep the lease for a continuation due at `moment`: until then other drainers find it
    taken (the budget is full anyway); from then on whichever drainer comes first takes it,
    so a continuation held up behind other tasks never holds the Entry Point up."""
    EntryPoint.objects.filter(pk=entry_point_id, drain_lease_owner=owner).update(drain_lease_until=moment)


def sends_in_flight() -> int:
    """How many sends one drain keeps in flight at once (to different customers).

    Sends run in threads with connections of their own, which see committed rows
    only: inside a transaction (or on SQLite, which serialises writers) they run one
    at a time in the drainer's thread."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, settings.OUTBOUND_SENDS_IN_FLIGHT)


class _Sends:
    """A drain's sends in flight: one per customer at a time, up to `width` at once."""

    def __init__(self, width: int):
        self.width = width
        self.executor = ThreadPoolExecutor(width, thread_name_prefix="send") if width > 1 else None
        self.in_flight: dict[Future, str] = {}  # -> the customer's recipient id
        self.connections = []  # the threads' database connections, closed when the drain ends
        self.lock = threading.Lock()

    def start(self, sender, message, slot_id) -> None:
        if self.executor is None:
            future = Future()
            try:
                future.set_result(_send_one(sender, message, slot_id))
            except Exception as error:
                future.set_exception(error)
        else:
            future = self.executor.submit(self._send_in_thread, sender, message, slot_id)
        self.in_flight[future] = message.recipient_id

    @property
    def full(self) -> bool:
        return len(self.in_flight) >= self.width

    @property
    def recipients(self) -> set[str]:
        return set(self.in_flight.values())

    def finished(self, timeout: float | None = 0) -> list[str]:
        """Outcomes of the sends that are done (waiting up to `timeout` for one)."""
        done, _ = wait(self.in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            del self.in_flight[future]
        return [future.result() for future in done]

    def close(self) -> list[str]:
        """Wait for every send in flight; their outcomes (the first error, if one failed, is raised)."""
        outcomes, error = [], None
        while self.in_flight:
            done, _ = wait(self.in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                del self.in_flight[future]
                if future.exception() is None:
                    outcomes.append(future.result())
                else:
                    error = error or future.exception()
        if self.executor is not None:
            self.executor.shutdown()
        for thread_connection in self.connections:
            thread_connection.close()
            thread_connection.dec_thread_sharing()
        if error is not None:
            raise error
        return outcomes

    def _send_in_thread(self, sender, message, slot_id) -> str:
        own = connections[DEFAULT_DB_ALIAS]  # this thread's; kept for its next sends (connecting costs)
        with self.lock:
            if own not in self.connections:
                own.inc_thread_sharing()  # so that close() may close it from the drainer's thread
                self.connections.append(own)
        return _send_one(sender, message, slot_id)


def drain_entry_point(entry_point_id: int, owner: str | None = None, max_seconds: float = 50) -> DrainResult:
    """Send the Entry Point's due queue in order per customer while the limiter grants slots.

    Up to `sends_in_flight()` sends go at once, to different customers. A wait for
    the budget longer than SHORT_WAIT_SECONDS ends the drain with the lease kept for
    its continuation, due when the slot frees (`DrainResult.again_at`/`lease_owner`):
    the worker is free for other Entry Points meanwhile and no second drainer is
    scheduled for this one.
    """
    owner = owner or uuid.uuid4().hex
    if not take_lease(entry_point_id, owner):
        return DrainResult()  # another drainer is at work; it picks our messages up
    sent, again_in, again_at, keep, idle = 0, None, None, False, False
    started = timezone.now()
    sends = _Sends(sends_in_flight())
    try:
        while True:
            outcomes = sends.finished()
            sent += outcomes.count("sent")
            if "rate_limited" in outcomes:
                again_in = RATE_LIMIT_BACKOFF.total_seconds()
                break
            if sends.full:
                sent += _wait_for_one(sends)
                continue
            entry_point = EntryPoint.objects.get(pk=entry_point_id)
            sender = sender_for(entry_point)
            if sender is None or sender.paused_reason(entry_point) or sender.removed_reason(entry_point):
                break
            message, wait_seconds = _next_due(entry_point_id, sender, busy=sends.recipients)
            if message is None:
                if sends.in_flight:  # a send that finishes may make its customer's next message due
                    sent += _wait_for_one(sends)
                    continue
                again_in, idle = wait_seconds, True
                break
            limit = sender.rate_limit(entry_point)
            slot_id = None
            if limit is not None:
                grant = limiter.acquire_slot(entry_point_id, limit, message.pk)
                if not grant.granted:
                    frees_in = max((grant.next_free_at - timezone.now()).total_seconds(), 0.01)
                    if sends.in_flight and frees_in <= SHORT_WAIT_SECONDS:
                        sent += _wait_for_one(sends, timeout=frees_in)
                        continue
                    if frees_in > SHORT_WAIT_SECONDS or _elapsed(started) + frees_in > max_seconds:
                        again_in, again_at, keep = frees_in, grant.next_free_at, True
                        break
                    # The burst's next slot frees within a send's round trip: cheaper to wait here.
                    time.sleep(frees_in)
                    take_lease(entry_point_id, owner)
                    continue
                slot_id = grant.slot_id
            sends.start(sender, message, slot_id)
            if _elapsed(started) > max_seconds:
                again_in, keep = 0.01, True
                break
            take_lease(entry_point_id, owner)  # renew
    finally:
        try:
            outcomes = sends.close()
        finally:
            if keep:
                keep_lease_until(entry_point_id, owner, again_at or timezone.now())
            else:
                release_lease(entry_point_id, owner)
    sent += outcomes.count("sent")
    if "rate_limited" in outcomes:  # a send still in flight when the drain stopped
        release_lease(entry_point_id, owner)
        return DrainResult(sent, RATE_LIMIT_BACKOFF.total_seconds())
    if idle and _has_due(entry_point_id):
        # Queued after our last look, and its kick found our lease held: nobody else sends it.
        _kick(entry_point_id)
    return DrainResult(sent, again_in, again_at, owner if keep else "")


def _wait_for_one(sends: _Sends, timeout: float | None = None) -> int:
    """Wait for a send in flight to finish (up to `timeout`); how many of those finished were sent."""
    return sends.finished(timeout=timeout).count("sent")


def _elapsed(started) -> float:
    return (timezone.now() - started).total_seconds()


def _pending(entry_point_id: int):
    """The Entry Point's messages still to send (or in doubt), oldest first: the next 500."""
    return OutboundMessage.objects.filter(
        entry_point_id=entry_point_id, status__in=[OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING]
    ).order_by("id")[:500]


def _next_due(
    entry_point_id: int, sender: ChannelSender, busy: set[str] = frozenset()
) -> tuple[OutboundMessage | None, float | None]:
    """The first message that may go now, keeping each customer's order.

    `busy`: customers (recipient ids) with a send in flight, whose messages wait.
    Returns (message, None) or (None, seconds until one is due / None if none).
    """
    now = timezone.now()
    blocked, earliest = set(busy), None
    for message in _pending(entry_point_id):
        if message.recipient_id in busy:
            continue
        if message.status == OutboundMessage.Status.SENDING:
            message = _resolve_in_doubt(sender, message, now)
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


def _has_due(entry_point_id: int) -> bool:
    """Whether a message may go now (read only, so without the lease: a message in doubt
    blocks its customer, as it does until the drainer resolves it)."""
    now = timezone.now()
    blocked = set()
    for recipient_id, status, next_attempt_at in _pending(entry_point_id).values_list(
        "recipient_id", "status", "next_attempt_at"
    ):
        if recipient_id in blocked:
            continue
        if status == OutboundMessage.Status.SENDING or next_attempt_at > now:
            blocked.add(recipient_id)
            continue
        return True
    return False


def _resolve_in_doubt(sender: ChannelSender, message: OutboundMessage, now) -> OutboundMessage | None:
    """A message left `sending` by a drainer that died mid-call.

    If the provider told us its message id (Meta's echo), it was sent.
    Otherwise wait for it a short while; after that, send it again (it is queued).
    """
    if sender.recheck_in_doubt(message):
        _record_sent(message, message.message_id)
        return None
    if message.next_attempt_at > now:
        return message  # still within the grace period: blocks its customer
    logger.warning("Outbound %s: no answer or echo recorded; sending it again", message.pk)
    message.status = OutboundMessage.Status.QUEUED
    message.save(update_fields=["status"])
    return message


def _send_one(sender: ChannelSender, message: OutboundMessage, slot_id: int | None) -> str:
    item = message.item
    try:
        window = check_window(
            item.conversation, automatic=bool(message.payload.get("automatic")), template="template" in message.payload
        )
    except SendRefused as refused:
        limiter.release_slot(slot_id)
        record_failed(message, str(refused))
        return "failed"

    message.status = OutboundMessage.Status.SENDING
    message.attempts += 1
    message.next_attempt_at = timezone.now() + IN_DOUBT_GRACE
    message.save(update_fields=["status", "attempts", "next_attempt_at"])
    try:
        message_id = sender.send(message, window)
    except SendFailed as failure:
        limiter.settle_slot(slot_id, failure.reached_provider)
        return _handle_failure(message, failure)
    limiter.confirm_slot(slot_id)
    _record_sent(message, message_id)
    return "sent"


def _handle_failure(message: OutboundMessage, failure: SendFailed) -> str:
    if failure.outcome == SendFailed.PAUSED:
        # The sender marked its Entry Point paused (and told the admins); the
        # message waits, nothing is dropped, and sends resume when it is fixed.
        _requeue(message, timezone.now(), failure.reason)
        return "paused"
    if failure.outcome == SendFailed.RATE_LIMITED:
        # The provider counted the call against its own limits: back off.
        backoff = timedelta(seconds=failure.retry_after) if failure.retry_after else RATE_LIMIT_BACKOFF
        _requeue(message, timezone.now() + backoff, failure.reason)
        return "rate_limited"
    if failure.outcome == SendFailed.TRANSIENT:
        if message.attempts >= MAX_TRANSIENT_ATTEMPTS:
            record_failed(
                message, f"Not accepted after {message.attempts} tries ({failure.reason}). Press Retry to try again."
            )
            return "failed"
        backoff = min(2**message.attempts, 300) * (0.5 + random.random())
        _requeue(message, timezone.now() + timedelta(seconds=backoff), failure.reason)
        return "retry"
    record_failed(message, failure.reason)
    return "failed"


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
        if item.delivery_status in (TimelineItem.Delivery.QUEUED, TimelineItem.Delivery.FAILED, ""):
            item.delivery_status = TimelineItem.Delivery.SENT
        if message_id and not item.external_id:
            # Set and checked in one step (the unique constraint), not looked up first: an echo
            # recorded meanwhile may carry the same id.
            try:
                with transaction.atomic():
                    TimelineItem.objects.filter(pk=item.pk).update(external_id=message_id)
                item.external_id = message_id
            except IntegrityError:
                pass  # another item has it: the customer's message a like answered, or an echo
        item.save(update_fields=["delivery_status"])
        Conversation.touch(item.conversation_id)
    signals.outbound_sent.send(sender=TimelineItem, item=item, message_id=message_id)


def record_failed(message: OutboundMessage, reason: str) -> None:
    """The message failed for good: the agent sees the reason and can Retry."""
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


def entry_points_with_stale_backlog(older_than=timedelta(minutes=1)) -> list[int]:
    """Entry Points with due queued messages and no live drainer, that can send (for the beat task)."""
    now = timezone.now()
    candidates = (
        EntryPoint.objects.filter(
            outbound_messages__status__in=[OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING],
            outbound_messages__next_attempt_at__lte=now - older_than,
        )
        .filter(Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now))
        .distinct()
    )
    stale = []
    for entry_point in candidates:
        sender = sender_for(entry_point)
        if sender is not None and not sender.paused_reason(entry_point) and not sender.removed_reason(entry_point):
            stale.append(entry_point.pk)
    return stale
