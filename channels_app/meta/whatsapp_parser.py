"""Turns a WhatsApp Cloud API webhook delivery into plain events.

Shape (Meta's "messages webhook reference", WhatsApp Business Platform):
`{"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes":
[{"field": "messages", "value": {"metadata": {...}, "contacts": [...],
"messages": [...], "statuses": [...], "errors": [...]}}]}]}`.

Every entry, change, message and status is parsed on its own: a malformed part
becomes an IgnoredEvent with a reason and never stops the others. Only a body
that is not a JSON object (or not a WhatsApp delivery at all) raises PayloadError.
The result reuses the Instagram parser's Delivery / Entry / IgnoredEvent so the
worker handles both the same way.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from .parser import Delivery, Entry, IgnoredEvent, PayloadError

WHATSAPP_OBJECT = "whatsapp_business_account"
MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")
# Only these media carry a caption in Meta's payloads (audio and stickers never do).
CAPTIONED_KINDS = ("image", "video", "document")
STATUSES = ("sent", "delivered", "read", "failed")

__all__ = [
    "PayloadError",
    "WhatsAppAttachment",
    "WhatsAppLocation",
    "WhatsAppContact",
    "WhatsAppChoice",
    "WhatsAppReaction",
    "WhatsAppError",
    "WhatsAppMessage",
    "WhatsAppStatus",
    "WhatsAppAccountError",
    "parse_whatsapp_delivery",
]


@dataclass(frozen=True)
class WhatsAppAttachment:
    kind: str  # image | audio | video | document | sticker
    media_id: str  # fetch its URL with whatsapp_graph.media_url (it is not in the webhook)
    mime_type: str = ""
    filename: str = ""
    caption: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class WhatsAppLocation:
    latitude: float | None
    longitude: float | None
    name: str = ""
    address: str = ""
    url: str = ""


@dataclass(frozen=True)
class WhatsAppContact:
    """A contact card the customer shared (not the sender)."""

    name: str
    phones: tuple[str, ...] = ()
    wa_ids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    organization: str = ""


@dataclass(frozen=True)
class WhatsAppChoice:
    """What the customer tapped: an interactive reply button / list row, or a template quick reply."""

    kind: str  # button_reply | list_reply | button
    id: str  # the id (or quick-reply payload) we gave the option
    title: str  # what the customer saw and tapped
    description: str = ""


@dataclass(frozen=True)
class WhatsAppReaction:
    message_id: str  # the message reacted to
    emoji: str = ""  # empty: the customer removed their reaction

    @property
    def removed(self):
        return not self.emoji


@dataclass(frozen=True)
class WhatsAppError:
    code: int | None
    title: str = ""
    message: str = ""
    details: str = ""


@dataclass(frozen=True)
class WhatsAppMessage:
    """A message from a customer to one of our business phone numbers."""

    account_id: str  # entry[].id: the WhatsApp Business Account id
    phone_number_id: str
    display_phone_number: str
    message_id: str  # wamid
    customer_id: str  # `from` (the customer's WhatsApp id)
    customer_name: str
    occurred_at: datetime
    kind: str  # text | image | ... | interactive | button | reaction | unsupported
    text: str = ""
    attachments: tuple[WhatsAppAttachment, ...] = ()
    reply_to_message_id: str = ""
    forwarded: bool = False
    location: WhatsAppLocation | None = None
    contacts: tuple[WhatsAppContact, ...] = ()
    choice: WhatsAppChoice | None = None
    reaction: WhatsAppReaction | None = None
    # Unsupported messages: Meta's own explanation, and the type it did not support.
    errors: tuple[WhatsAppError, ...] = ()
    unsupported_type: str = ""
    # Click-to-WhatsApp ads: kept raw for the customer card.
    referral: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class WhatsAppStatus:
    """Meta reports what happened to one of our messages."""

    account_id: str
    phone_number_id: str
    message_id: str
    recipient_id: str
    status: str  # sent | delivered | read | failed
    occurred_at: datetime
    errors: tuple[WhatsAppError, ...] = ()
    # Billing details, kept as Meta sent them.
    conversation: dict = field(default_factory=dict, compare=False)
    pricing: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class WhatsAppAccountError:
    """A problem Meta reports for the app or the account, not tied to one message (`value.errors[]`)."""

    account_id: str
    phone_number_id: str
    error: WhatsAppError


def _str(value) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _seconds(value) -> datetime | None:
    """WhatsApp timestamps are epoch seconds as a string; None when unreadable."""
    if isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(int(str(value)), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _float(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _errors(items) -> tuple[WhatsAppError, ...]:
    found = []
    for error in _list(items):
        if isinstance(error, dict):
            found.append(
                WhatsAppError(
                    code=_int(error.get("code")),
                    title=_str(error.get("title")),
                    message=_str(error.get("message")),
                    details=_str(_dict(error.get("error_data")).get("details")),
                )
            )
    return tuple(found)


def parse_whatsapp_delivery(payload) -> Delivery:
    """Parse a whole WhatsApp webhook body into a Delivery of WhatsApp events.

    Raises PayloadError only when the body is not a JSON object. Any other
    body that is not a WhatsApp delivery comes back as one entry holding an
    IgnoredEvent that says why.
    """
    if not isinstance(payload, dict):
        raise PayloadError("The body is not a JSON object.")
    obj = payload.get("object")
    if obj != WHATSAPP_OBJECT:
        return _refused(_str(obj), f"Webhook object {obj!r} is not a WhatsApp delivery.", payload)
    entries = payload.get("entry")
    if not isinstance(entries, list):
        return _refused(WHATSAPP_OBJECT, "The body has no entry list.", payload)
    return Delivery(object=WHATSAPP_OBJECT, entries=tuple(parse_whatsapp_entry(entry) for entry in entries))


def _refused(obj: str, reason: str, payload: dict) -> Delivery:
    return Delivery(object=obj, entries=(Entry("", (), (IgnoredEvent("", "delivery", reason, payload),)),))


def parse_whatsapp_entry(entry) -> Entry:
    if not isinstance(entry, dict):
        return Entry("", (), (IgnoredEvent("", "entry", "Entry is not an object."),))
    account_id = _str(entry.get("id"))
    events, ignored = [], []
    changes = entry.get("changes")
    if not isinstance(changes, list):
        ignored.append(IgnoredEvent(account_id, "entry", "Entry has no changes list.", entry))
        return Entry(account_id, (), tuple(ignored))
    for change in changes:
        for parsed in _change(account_id, change):
            (ignored if isinstance(parsed, IgnoredEvent) else events).append(parsed)
    if not changes:
        ignored.append(IgnoredEvent(account_id, "entry", "Entry with an empty changes list.", entry))
    return Entry(account_id, tuple(events), tuple(ignored))


def _change(account_id: str, change) -> list:
    if not isinstance(change, dict):
        return [IgnoredEvent(account_id, "change", "Change is not an object.")]
    kind = _str(change.get("field"))
    if kind != "messages":
        # Template status, quality and account updates come on other fields; not used yet.
        return [IgnoredEvent(account_id, kind or "change", f"Webhook field {kind!r} is not used.", change)]
    value = change.get("value")
    if not isinstance(value, dict):
        return [IgnoredEvent(account_id, "change", "A messages change without a value object.", change)]
    metadata = _dict(value.get("metadata"))
    phone_number_id = _str(metadata.get("phone_number_id"))
    if not phone_number_id:
        return [IgnoredEvent(account_id, "change", "A messages change without metadata.phone_number_id.", change)]
    context = {
        "account_id": account_id,
        "phone_number_id": phone_number_id,
        "display_phone_number": _str(metadata.get("display_phone_number")),
        "names": _contact_names(value.get("contacts")),
    }
    parsed: list = []
    parsed.extend(_message(context, message) for message in _list(value.get("messages")))
    parsed.extend(_status(context, status) for status in _list(value.get("statuses")))
    parsed.extend(WhatsAppAccountError(account_id, phone_number_id, error) for error in _errors(value.get("errors")))
    if not parsed:
        parsed.append(IgnoredEvent(account_id, "change", "A messages change with no messages, statuses or errors."))
    for key in ("messages", "statuses", "errors"):
        if key in value and not isinstance(value[key], list):
            parsed.append(IgnoredEvent(account_id, key, f"value.{key} is not a list.", change))
    parsed.extend(
        IgnoredEvent(account_id, "error", "An error that is not an object.")
        for error in _list(value.get("errors"))
        if not isinstance(error, dict)
    )
    return parsed


def _contact_names(contacts) -> dict[str, str]:
    """wa_id -> profile name, from `value.contacts[]` (the senders, not shared contact cards)."""
    names = {}
    for contact in _list(contacts):
        if isinstance(contact, dict) and contact.get("wa_id"):
            names[_str(contact["wa_id"])] = _str(_dict(contact.get("profile")).get("name"))
    return names


def _message(context: dict, message) -> WhatsAppMessage | IgnoredEvent:
    account_id = context["account_id"]
    if not isinstance(message, dict):
        return IgnoredEvent(account_id, "message", "Message is not an object.")
    message_id = _str(message.get("id"))
    customer_id = _str(message.get("from"))
    if not message_id or not customer_id:
        return IgnoredEvent(account_id, "message", "Message without an id or a sender (from).", message)
    # Like the Instagram parser: a customer's message is worth more than its exact time.
    occurred_at = _seconds(message.get("timestamp")) or datetime.now(tz=UTC)
    names = context["names"]
    # With a single sender in the change, Meta may omit wa_id matching; use its name then.
    customer_name = names.get(customer_id) or (next(iter(names.values())) if len(names) == 1 else "")
    reply = _dict(message.get("context"))
    base = {
        "account_id": account_id,
        "phone_number_id": context["phone_number_id"],
        "display_phone_number": context["display_phone_number"],
        "message_id": message_id,
        "customer_id": customer_id,
        "customer_name": customer_name,
        "occurred_at": occurred_at,
        "reply_to_message_id": _str(reply.get("id")),
        "forwarded": bool(reply.get("forwarded") or reply.get("frequently_forwarded")),
        "referral": _dict(message.get("referral")),
    }
    kind = _str(message.get("type"))
    body = message.get(kind) if kind else None
    if kind == "unsupported" or (kind and kind not in KNOWN_KINDS):
        return _unsupported(base, message, kind)
    expected = list if kind == "contacts" else dict
    if not isinstance(body, expected):
        reason = f"A {kind} message without its {kind} {expected.__name__}." if kind else "Message without a type."
        return IgnoredEvent(account_id, kind or "message", reason, message)
    return KNOWN_KINDS[kind](base, kind, body, message)


def _text(base, kind, body, message):
    text = _str(body.get("body"))
    if not text:
        return IgnoredEvent(base["account_id"], kind, "A text message without a body.", message)
    return WhatsAppMessage(**base, kind=kind, text=text)


def _media(base, kind, body, message):
    media_id = _str(body.get("id"))
    if not media_id:
        return IgnoredEvent(base["account_id"], kind, f"A {kind} message without a media id.", message)
    caption = _str(body.get("caption")) if kind in CAPTIONED_KINDS else ""
    attachment = WhatsAppAttachment(
        kind=kind,
        media_id=media_id,
        mime_type=_str(body.get("mime_type")),
        filename=_str(body.get("filename")) if kind == "document" else "",
        caption=caption,
        sha256=_str(body.get("sha256")),
    )
    return WhatsAppMessage(**base, kind=kind, text=caption, attachments=(attachment,))


def _location(base, kind, body, message):
    latitude, longitude = _float(body.get("latitude")), _float(body.get("longitude"))
    if latitude is None or longitude is None:
        return IgnoredEvent(base["account_id"], kind, "A location without latitude and longitude.", message)
    location = WhatsAppLocation(
        latitude=latitude,
        longitude=longitude,
        name=_str(body.get("name")),
        address=_str(body.get("address")),
        url=_str(body.get("url")),
    )
    return WhatsAppMessage(**base, kind=kind, location=location)


def _contacts(base, kind, body, message):
    # `contacts` is the one type whose body is a list; _message passed it through as is.
    cards = []
    for card in _list(body):
        if not isinstance(card, dict):
            continue
        name = _dict(card.get("name"))
        phones = [p for p in _list(card.get("phones")) if isinstance(p, dict)]
        cards.append(
            WhatsAppContact(
                name=_str(name.get("formatted_name"))
                or " ".join(_str(name.get(k)) for k in ("first_name", "last_name") if name.get(k)),
                phones=tuple(_str(p.get("phone")) for p in phones if p.get("phone")),
                wa_ids=tuple(_str(p.get("wa_id")) for p in phones if p.get("wa_id")),
                emails=tuple(
                    _str(e.get("email")) for e in _list(card.get("emails")) if isinstance(e, dict) and e.get("email")
                ),
                organization=_str(_dict(card.get("org")).get("company")),
            )
        )
    if not cards:
        return IgnoredEvent(base["account_id"], kind, "A contacts message without any contact card.", message)
    return WhatsAppMessage(**base, kind=kind, contacts=tuple(cards))


def _interactive(base, kind, body, message):
    reply_kind = _str(body.get("type"))
    reply = _dict(body.get(reply_kind))
    if reply_kind not in ("button_reply", "list_reply") or not (reply.get("id") or reply.get("title")):
        # nfm_reply (WhatsApp Flows) and future kinds: nothing we can show yet.
        return IgnoredEvent(base["account_id"], kind, f"Interactive reply {reply_kind!r} is not supported.", message)
    choice = WhatsAppChoice(
        kind=reply_kind,
        id=_str(reply.get("id")),
        title=_str(reply.get("title")),
        description=_str(reply.get("description")),
    )
    return WhatsAppMessage(**base, kind=kind, text=choice.title, choice=choice)


def _button(base, kind, body, message):
    # A quick-reply button of a template we sent: `text` is the label, `payload` ours.
    choice = WhatsAppChoice(kind="button", id=_str(body.get("payload")), title=_str(body.get("text")))
    if not (choice.id or choice.title):
        return IgnoredEvent(base["account_id"], kind, "A button reply without text or payload.", message)
    return WhatsAppMessage(**base, kind=kind, text=choice.title, choice=choice)


def _reaction(base, kind, body, message):
    reacted = _str(body.get("message_id"))
    if not reacted:
        return IgnoredEvent(base["account_id"], kind, "A reaction without the message it reacts to.", message)
    # Meta drops `emoji` (or sends it empty) when the customer removes a reaction.
    return WhatsAppMessage(**base, kind=kind, reaction=WhatsAppReaction(reacted, _str(body.get("emoji"))))


def _unsupported(base, message, kind):
    errors = _errors(message.get("errors"))
    detail = _dict(message.get("unsupported"))
    unsupported_type = _str(detail.get("type")) or ("" if kind == "unsupported" else kind)
    return WhatsAppMessage(**base, kind="unsupported", errors=errors, unsupported_type=unsupported_type)


KNOWN_KINDS = {
    "text": _text,
    **dict.fromkeys(MEDIA_KINDS, _media),
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    "button": _button,
    "reaction": _reaction,
}


def _status(context: dict, status) -> WhatsAppStatus | IgnoredEvent:
    account_id = context["account_id"]
    if not isinstance(status, dict):
        return IgnoredEvent(account_id, "status", "Status is not an object.")
    message_id = _str(status.get("id"))
    value = _str(status.get("status"))
    if not message_id:
        return IgnoredEvent(account_id, "status", "Status without a message id.", status)
    if value not in STATUSES:
        return IgnoredEvent(account_id, "status", f"Status {value!r} is not one we track.", status)
    occurred_at = _seconds(status.get("timestamp")) or datetime.now(tz=UTC)
    return WhatsAppStatus(
        account_id=account_id,
        phone_number_id=context["phone_number_id"],
        message_id=message_id,
        recipient_id=_str(status.get("recipient_id")),
        status=value,
        occurred_at=occurred_at,
        errors=_errors(status.get("errors")),
        conversation=_dict(status.get("conversation")),
        pricing=_dict(status.get("pricing")),
    )
