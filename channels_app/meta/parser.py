"""Turns Meta's webhook JSON into plain events; the rest of the app never sees Meta's JSON.

Shapes: Messenger Platform webhooks for Instagram and Pages
(`{"object": "instagram" | "page", "entry": [{"id", "time", "messaging": [...]}]}`),
see ../shared/meta/README.md.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

SUPPORTED_OBJECTS = {"instagram", "page", "whatsapp_business_account"}
# What this module parses; Messenger ("page") and WhatsApp have parsers of their own.
INSTAGRAM_OBJECTS = {"instagram", "page"}
MEDIA_TYPES = {"image", "video", "audio", "file", "ig_reel", "reel", "share", "animated_image_share"}


class PayloadError(ValueError):
    """The delivery as a whole is not something Meta sends."""


class MalformedEvent(ValueError):
    """One entry or messaging event is not shaped as Meta sends it; the others still count."""


@dataclass(frozen=True)
class InboundAttachment:
    kind: str
    url: str


@dataclass(frozen=True)
class Event:
    """Fields every messaging event has."""

    account_id: str  # entry[].id: the Instagram user id or the Page id
    sender_id: str
    recipient_id: str
    occurred_at: datetime

    @property
    def customer_id(self):
        return self.sender_id


@dataclass(frozen=True)
class InboundMessage(Event):
    mid: str
    text: str = ""
    attachments: tuple[InboundAttachment, ...] = ()
    reply_to_mid: str = ""
    story_url: str = ""
    story_id: str = ""
    quick_reply_payload: str = ""

    @property
    def is_story_reply(self):
        return bool(self.story_url or self.story_id)


@dataclass(frozen=True)
class StoryMention(Event):
    mid: str
    url: str


@dataclass(frozen=True)
class InboundReaction(Event):
    mid: str
    action: str  # react | unreact
    reaction: str = ""
    emoji: str = ""


@dataclass(frozen=True)
class Echo(Event):
    """A message the account sent (by us, another tool, or by hand in the Instagram app)."""

    mid: str
    text: str = ""
    attachments: tuple[InboundAttachment, ...] = ()

    @property
    def customer_id(self):
        return self.recipient_id


@dataclass(frozen=True)
class EchoReaction(Event):
    """A reaction the account itself made on message `mid` (by us, another tool or in the Instagram app)."""

    mid: str
    action: str  # react | unreact
    reaction: str = ""

    @property
    def customer_id(self):
        return self.recipient_id


@dataclass(frozen=True)
class MessageDeleted(Event):
    mid: str


@dataclass(frozen=True)
class UnsupportedMessage(Event):
    mid: str


@dataclass(frozen=True)
class ReadReceipt(Event):
    mid: str = ""
    watermark: datetime | None = None


@dataclass(frozen=True)
class IgnoredEvent:
    account_id: str
    kind: str
    reason: str
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Entry:
    account_id: str
    events: tuple
    ignored: tuple[IgnoredEvent, ...] = ()


@dataclass(frozen=True)
class Delivery:
    object: str
    entries: tuple[Entry, ...]


def _time(ms) -> datetime:
    try:
        return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(tz=UTC)


def _str(value) -> str:
    return "" if value is None else str(value)


def _attachments(message: dict) -> tuple[InboundAttachment, ...]:
    attachments = message.get("attachments") or []
    if not isinstance(attachments, list):
        raise MalformedEvent("attachments is not a list.")
    found = []
    for attachment in attachments:
        if not isinstance(attachment, dict):
            continue
        payload = attachment.get("payload") if isinstance(attachment.get("payload"), dict) else {}
        found.append(InboundAttachment(kind=_str(attachment.get("type")), url=_str(payload.get("url"))))
    return tuple(found)


def parse_delivery(payload) -> Delivery:
    """Parse a whole webhook body. Raises PayloadError when it is not a Meta delivery."""
    if not isinstance(payload, dict):
        raise PayloadError("The body is not a JSON object.")
    obj = payload.get("object")
    if not isinstance(obj, str) or obj not in INSTAGRAM_OBJECTS:
        raise PayloadError(f"Unsupported webhook object {obj!r}.")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("The body has no entry list.")
    return Delivery(object=obj, entries=tuple(_entry_or_note(entry) for entry in entries))


def _entry_or_note(entry) -> Entry:
    """Parse one entry; a shape no rule foresaw becomes a note, not a lost delivery."""
    try:
        return parse_entry(entry)
    except Exception as error:
        account_id = _str(entry.get("id")) if isinstance(entry, dict) else ""
        return Entry(account_id, (), (IgnoredEvent(account_id, "entry", f"Entry could not be read: {error!r}"),))


def parse_entry(entry) -> Entry:
    """One `entry[]` item. Each messaging event is parsed on its own: a malformed one
    is kept as an IgnoredEvent with its reason and the others are still applied."""
    if not isinstance(entry, dict):
        return Entry("", (), (IgnoredEvent("", "entry", "Entry is not an object."),))
    account_id = _str(entry.get("id"))
    events, ignored = [], []
    messaging = entry.get("messaging") or []
    if not isinstance(messaging, list):
        ignored.append(IgnoredEvent(account_id, "entry", f"messaging is a {type(messaging).__name__}, not a list."))
        messaging = []
    for item in messaging:
        parsed = _event_or_note(account_id, item)
        (ignored if isinstance(parsed, IgnoredEvent) else events).append(parsed)
    for kind in ("standby", "changes"):
        if entry.get(kind):
            ignored.append(
                IgnoredEvent(account_id, kind, f"{kind} events are not used (the app is the only receiver).")
            )
    return Entry(account_id, tuple(events), tuple(ignored))


def _event_or_note(account_id: str, item) -> Event | IgnoredEvent:
    try:
        return parse_messaging(account_id, item)
    except MalformedEvent as error:
        return IgnoredEvent(account_id, "invalid", str(error), item if isinstance(item, dict) else {})
    except Exception as error:
        reason = f"Messaging item could not be read: {error!r}"
        return IgnoredEvent(account_id, "invalid", reason, item if isinstance(item, dict) else {})


def parse_messaging(account_id: str, item) -> Event | IgnoredEvent:
    """One `messaging[]` item to one event (or an IgnoredEvent saying why)."""
    if not isinstance(item, dict):
        return IgnoredEvent(account_id, "invalid", "Messaging item is not an object.")
    sender = item.get("sender") if isinstance(item.get("sender"), dict) else {}
    recipient = item.get("recipient") if isinstance(item.get("recipient"), dict) else {}
    base = {
        "account_id": account_id,
        "sender_id": _str(sender.get("id")),
        "recipient_id": _str(recipient.get("id")),
        "occurred_at": _time(item.get("timestamp")),
    }
    if not base["sender_id"] or not base["recipient_id"]:
        return IgnoredEvent(account_id, "invalid", "Messaging item has no sender or recipient id.", item)

    if isinstance(item.get("message"), dict):
        return _message(base, item["message"], item)
    if isinstance(item.get("reaction"), dict):
        reaction = item["reaction"]
        if not reaction.get("mid"):
            return IgnoredEvent(account_id, "reaction", "Reaction without a message id.", item)
        if base["sender_id"] == account_id:
            # The account's own reaction comes back like an echo: the customer is the recipient.
            return EchoReaction(
                **base,
                mid=_str(reaction.get("mid")),
                action=_str(reaction.get("action") or "react"),
                reaction=_str(reaction.get("reaction")),
            )
        return InboundReaction(
            **base,
            mid=_str(reaction.get("mid")),
            action=_str(reaction.get("action") or "react"),
            reaction=_str(reaction.get("reaction")),
            emoji=_str(reaction.get("emoji")),
        )
    if isinstance(item.get("read"), dict):
        read = item["read"]
        watermark = _time(read["watermark"]) if read.get("watermark") else None
        return ReadReceipt(**base, mid=_str(read.get("mid")), watermark=watermark)
    for kind in (
        "postback",
        "referral",
        "optin",
        "pass_thread_control",
        "take_thread_control",
        "request_thread_control",
    ):
        if kind in item:
            return IgnoredEvent(account_id, kind, f"{kind} events are not supported (no Handover Protocol).", item)
    return IgnoredEvent(account_id, "unknown", "Unknown messaging event.", item)


def _message(base: dict, message: dict, item: dict) -> Event | IgnoredEvent:
    mid = _str(message.get("mid"))
    if not mid:
        return IgnoredEvent(base["account_id"], "message", "Message without a message id (mid).", item)
    if message.get("is_deleted"):
        return MessageDeleted(**base, mid=mid)
    attachments = _attachments(message)
    if message.get("is_echo"):
        return Echo(**base, mid=mid, text=_str(message.get("text")), attachments=attachments)
    if message.get("is_unsupported"):
        return UnsupportedMessage(**base, mid=mid)
    mentions = [a for a in attachments if a.kind == "story_mention"]
    if mentions:
        return StoryMention(**base, mid=mid, url=mentions[0].url)
    reply_to = message.get("reply_to") if isinstance(message.get("reply_to"), dict) else {}
    story = reply_to.get("story") if isinstance(reply_to.get("story"), dict) else {}
    quick_reply = message.get("quick_reply") if isinstance(message.get("quick_reply"), dict) else {}
    text = _str(message.get("text"))
    if not text and not attachments:
        return UnsupportedMessage(**base, mid=mid)
    return InboundMessage(
        **base,
        mid=mid,
        text=text,
        attachments=attachments,
        reply_to_mid=_str(reply_to.get("mid")),
        story_url=_str(story.get("url")),
        story_id=_str(story.get("id")),
        quick_reply_payload=_str(quick_reply.get("payload")),
    )
