"""Turns a Facebook Messenger webhook delivery (`"object": "page"`) into plain events.

The Instagram parser (parser.py) reads the shared Messenger Platform shape;
this module adds what Messenger sends beyond it: quick replies with the text the
customer saw, postbacks (a tapped button), referrals (m.me links and ads, for the
customer card), fallback / template / sticker attachments, delivery and read
watermarks, and echoes told apart by `app_id` (our app's sends vs other tools').
Shapes: Messenger Platform "Webhook Event Reference" (messages, message_echoes,
messaging_postbacks, messaging_referrals, message_reads, message_deliveries,
message_reactions).

It reuses parser.py's events where they fit, and like it never raises on a part
it cannot read: that part becomes an IgnoredEvent with a reason.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from .parser import (
    Delivery,
    Echo,
    EchoReaction,
    Entry,
    Event,
    IgnoredEvent,
    InboundAttachment,
    InboundMessage,
    InboundReaction,
    MessageDeleted,
    PayloadError,
    ReadReceipt,
    UnsupportedMessage,
)

MESSENGER_OBJECT = "page"

__all__ = [
    "PayloadError",
    "MessengerAttachment",
    "Referral",
    "MessengerMessage",
    "MessengerEcho",
    "Postback",
    "ReferralEvent",
    "DeliveryReceipt",
    "parse_messenger_delivery",
]


@dataclass(frozen=True)
class MessengerAttachment(InboundAttachment):
    """kind: image | video | audio | file | sticker | fallback | template | …; url may be empty."""

    title: str = ""  # fallback (a shared link): the link's title
    sticker_id: str = ""
    # template attachments (echoes of our or other tools' structured messages), kept raw.
    template: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Referral:
    """How the customer came to the conversation (m.me link, ad, chat plugin)."""

    ref: str = ""
    source: str = ""  # SHORTLINK | ADS | CUSTOMER_CHAT_PLUGIN | …
    type: str = ""  # OPEN_THREAD
    ad_id: str = ""
    referer_uri: str = ""
    ad_title: str = ""
    # ads_context_data as Meta sent it (photo_url, video_url, post_id, product_id, …).
    ads_context: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class MessengerMessage(InboundMessage):
    """A customer's message. For a quick reply, `text` is what the customer saw and tapped."""

    referral: Referral | None = None


@dataclass(frozen=True)
class MessengerEcho(Echo):
    """A message the Page sent. `sent_by_us` when our app sent it; otherwise another tool or a person."""

    app_id: str = ""
    sent_by_us: bool = False
    metadata: str = ""


@dataclass(frozen=True)
class Postback(Event):
    """The customer tapped a button (postback button, Get Started, persistent menu)."""

    mid: str
    title: str  # the button's label: what the timeline shows the customer "said"
    payload: str = ""
    referral: Referral | None = None


@dataclass(frozen=True)
class ReferralEvent(Event):
    """The customer re-entered an existing thread from a link or an ad."""

    referral: Referral


@dataclass(frozen=True)
class DeliveryReceipt(Event):
    """Our messages `mids` (or all up to `watermark`) reached the customer's device."""

    mids: tuple[str, ...] = ()
    watermark: datetime | None = None


def _str(value) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _ms(value) -> datetime | None:
    if isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def parse_messenger_delivery(payload, app_id: str | None = None) -> Delivery:
    """Parse a whole Messenger webhook body.

    `app_id` is ours (default `settings.META_APP_ID`): echoes carrying it are
    our own sends. Raises PayloadError only when the body is not a JSON object;
    any other body that is not a Page delivery comes back as an IgnoredEvent.
    """
    if not isinstance(payload, dict):
        raise PayloadError("The body is not a JSON object.")
    obj = payload.get("object")
    if obj != MESSENGER_OBJECT:
        return _refused(_str(obj), f"Webhook object {obj!r} is not a Messenger (page) delivery.", payload)
    entries = payload.get("entry")
    if not isinstance(entries, list):
        return _refused(MESSENGER_OBJECT, "The body has no entry list.", payload)
    our_app_id = _str(settings.META_APP_ID if app_id is None else app_id)
    return Delivery(MESSENGER_OBJECT, tuple(parse_messenger_entry(entry, our_app_id) for entry in entries))


def _refused(obj: str, reason: str, payload: dict) -> Delivery:
    return Delivery(obj, (Entry("", (), (IgnoredEvent("", "delivery", reason, payload),)),))


def parse_messenger_entry(entry, our_app_id: str) -> Entry:
    if not isinstance(entry, dict):
        return Entry("", (), (IgnoredEvent("", "entry", "Entry is not an object."),))
    account_id = _str(entry.get("id"))
    events, ignored = [], []
    messaging = entry.get("messaging")
    if "messaging" in entry and not isinstance(messaging, list):
        ignored.append(IgnoredEvent(account_id, "entry", "entry.messaging is not a list.", entry))
    for item in _list(messaging):
        parsed = parse_messenger_item(account_id, item, our_app_id)
        (ignored if isinstance(parsed, IgnoredEvent) else events).append(parsed)
    for kind in ("standby", "changes"):
        if entry.get(kind):
            ignored.append(
                IgnoredEvent(account_id, kind, f"{kind} events are not used (the app is the only receiver).")
            )
    if not events and not ignored:
        ignored.append(IgnoredEvent(account_id, "entry", "Entry without any messaging event.", entry))
    return Entry(account_id, tuple(events), tuple(ignored))


def parse_messenger_item(account_id: str, item, our_app_id: str) -> Event | IgnoredEvent:
    """One `messaging[]` item to one event (or an IgnoredEvent saying why)."""
    if not isinstance(item, dict):
        return IgnoredEvent(account_id, "invalid", "Messaging item is not an object.")
    sender_id = _str(_dict(item.get("sender")).get("id"))
    recipient_id = _str(_dict(item.get("recipient")).get("id"))
    if not sender_id or not recipient_id:
        # Chat-plugin guests come with `user_ref` instead of a PSID: nothing to answer yet.
        return IgnoredEvent(account_id, "invalid", "Messaging item has no sender or recipient id.", item)
    base = {
        "account_id": account_id,
        "sender_id": sender_id,
        "recipient_id": recipient_id,
        # Like the Instagram parser: an event is worth more than its exact time.
        "occurred_at": _ms(item.get("timestamp")) or datetime.now(tz=UTC),
    }
    if isinstance(item.get("message"), dict):
        return _message(base, item["message"], item, our_app_id)
    if isinstance(item.get("postback"), dict):
        return _postback(base, item["postback"], item)
    if isinstance(item.get("referral"), dict):
        return ReferralEvent(**base, referral=_referral(item["referral"]))
    if isinstance(item.get("reaction"), dict):
        return _reaction(base, item["reaction"], item)
    if isinstance(item.get("read"), dict):
        read = item["read"]
        watermark = _ms(read.get("watermark"))
        if watermark is None and not read.get("mid"):
            return IgnoredEvent(account_id, "read", "Read receipt without a watermark.", item)
        return ReadReceipt(**base, mid=_str(read.get("mid")), watermark=watermark)
    if isinstance(item.get("delivery"), dict):
        delivery = item["delivery"]
        mids = tuple(_str(mid) for mid in _list(delivery.get("mids")) if _str(mid))
        watermark = _ms(delivery.get("watermark"))
        if not mids and watermark is None:
            return IgnoredEvent(account_id, "delivery", "Delivery receipt without mids or watermark.", item)
        return DeliveryReceipt(**base, mids=mids, watermark=watermark)
    for kind in ("optin", "pass_thread_control", "take_thread_control", "request_thread_control", "policy_enforcement"):
        if kind in item:
            return IgnoredEvent(account_id, kind, f"{kind} events are not supported.", item)
    return IgnoredEvent(account_id, "unknown", "Unknown messaging event.", item)


def _referral(value) -> Referral:
    value = _dict(value)
    ads_context = _dict(value.get("ads_context_data"))
    return Referral(
        ref=_str(value.get("ref")),
        source=_str(value.get("source")),
        type=_str(value.get("type")),
        ad_id=_str(value.get("ad_id")),
        referer_uri=_str(value.get("referer_uri")),
        ad_title=_str(ads_context.get("ad_title")),
        ads_context=ads_context,
    )


def _attachments(message: dict) -> tuple[MessengerAttachment, ...]:
    found = []
    for attachment in _list(message.get("attachments")):
        if not isinstance(attachment, dict):
            continue
        kind = _str(attachment.get("type"))
        payload = _dict(attachment.get("payload"))
        template = payload if kind == "template" else {}
        found.append(
            MessengerAttachment(
                kind=kind,
                # A fallback (a shared link) may carry title and url outside its payload, or no payload at all.
                url=_str(payload.get("url")) or _str(attachment.get("url")),
                title=_str(payload.get("title")) or _str(attachment.get("title")),
                sticker_id=_str(payload.get("sticker_id")),
                template=template,
            )
        )
    if any(a.kind == "sticker" for a in found):
        # Until Meta's sticker transition ends a sticker also comes as an image with the same sticker_id.
        found = [a for a in found if not (a.kind == "image" and a.sticker_id)]
    return tuple(found)


def _message(base: dict, message: dict, item: dict, our_app_id: str) -> Event | IgnoredEvent:
    mid = _str(message.get("mid"))
    if not mid:
        return IgnoredEvent(base["account_id"], "message", "Message without a message id (mid).", item)
    if message.get("is_deleted"):
        return MessageDeleted(**base, mid=mid)
    text = _str(message.get("text"))
    attachments = _attachments(message)
    if message.get("is_echo"):
        app_id = _str(message.get("app_id"))
        return MessengerEcho(
            **base,
            mid=mid,
            text=text,
            attachments=attachments,
            app_id=app_id,
            sent_by_us=bool(our_app_id) and app_id == our_app_id,
            metadata=_str(message.get("metadata")),
        )
    if message.get("is_unsupported") or (not text and not attachments):
        return UnsupportedMessage(**base, mid=mid)
    quick_reply = _dict(message.get("quick_reply"))
    referral = message.get("referral") or item.get("referral")
    return MessengerMessage(
        **base,
        mid=mid,
        text=text,
        attachments=attachments,
        reply_to_mid=_str(_dict(message.get("reply_to")).get("mid")),
        quick_reply_payload=_str(quick_reply.get("payload")),
        referral=_referral(referral) if isinstance(referral, dict) else None,
    )


def _postback(base: dict, postback: dict, item: dict) -> Postback | IgnoredEvent:
    title, payload = _str(postback.get("title")), _str(postback.get("payload"))
    if not title and not payload:
        return IgnoredEvent(base["account_id"], "postback", "Postback without a title or payload.", item)
    referral = postback.get("referral")
    return Postback(
        **base,
        mid=_str(postback.get("mid")),
        title=title,
        payload=payload,
        referral=_referral(referral) if isinstance(referral, dict) else None,
    )


def _reaction(base: dict, reaction: dict, item: dict) -> Event | IgnoredEvent:
    mid = _str(reaction.get("mid"))
    if not mid:
        return IgnoredEvent(base["account_id"], "reaction", "Reaction without a message id.", item)
    action = _str(reaction.get("action")) or "react"
    if base["sender_id"] == base["account_id"]:
        # The Page's own reaction comes back like an echo: the customer is the recipient.
        return EchoReaction(**base, mid=mid, action=action, reaction=_str(reaction.get("reaction")))
    return InboundReaction(
        **base, mid=mid, action=action, reaction=_str(reaction.get("reaction")), emoji=_str(reaction.get("emoji"))
    )
