"""WhatsApp Cloud API calls, through the Graph client in graph.py (its errors, its URLs).

Every function takes the access token of the WhatsApp Business Account's system
user (or the business's token from Embedded Signup) and raises GraphError when
Meta refuses. Shapes: WhatsApp Business Platform reference (Messages API, Media,
Message Templates, Phone Numbers, Subscribed Apps).
"""

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from .graph import GraphClient, GraphError

MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")
CAPTIONED_KINDS = ("image", "video", "document")
# {{1}} (positional) or {{customer_name}} (named) placeholders in template text.
TEMPLATE_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

# What a failed send should do; the names match SendFailed's outcomes in docs/architecture.md.
TRANSIENT = "transient"
RATE_LIMITED = "rate_limited"
REFUSED = "refused"
PAUSED = "paused"


# --- Sending ----------------------------------------------------------------


def _send(token: str, phone_number_id: str, to: str, message: dict, reply_to: str | None = None) -> str:
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **message}
    if reply_to:
        body["context"] = {"message_id": reply_to}
    answer = GraphClient(token).post(f"{phone_number_id}/messages", json=body)
    messages = answer.get("messages")
    first = messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
    return str(first.get("id") or "")


def send_text(token: str, phone_number_id: str, to: str, text: str, reply_to: str | None = None) -> str:
    """Send a text message; returns its wamid. Raises GraphError.

    Only inside the 24-hour window after the customer's last message; outside
    it Meta answers 131047 and only a template can be sent.
    """
    return _send(token, phone_number_id, to, {"type": "text", "text": {"preview_url": False, "body": text}}, reply_to)


def send_media(
    token: str,
    phone_number_id: str,
    to: str,
    kind: str,
    *,
    link: str = "",
    media_id: str = "",
    caption: str = "",
    filename: str = "",
    reply_to: str | None = None,
) -> str:
    """Send an image / audio / video / document / sticker by public `link` or uploaded `media_id`; returns the wamid.

    Meta accepts a caption only on images, videos and documents, and a filename only on documents.
    """
    if kind not in MEDIA_KINDS:
        raise ValueError(f"WhatsApp cannot send media of kind {kind!r}.")
    if bool(link) == bool(media_id):
        raise ValueError("Give exactly one of link or media_id.")
    if caption and kind not in CAPTIONED_KINDS:
        raise ValueError(f"A {kind} cannot carry a caption on WhatsApp.")
    if filename and kind != "document":
        raise ValueError("Only a document carries a filename on WhatsApp.")
    media = {"link": link} if link else {"id": media_id}
    if caption:
        media["caption"] = caption
    if filename:
        media["filename"] = filename
    return _send(token, phone_number_id, to, {"type": kind, kind: media}, reply_to)


def upload_media(token: str, phone_number_id: str, content: bytes, mime_type: str, filename: str = "") -> str:
    """POST /{phone-number-id}/media (multipart): store a file at WhatsApp for sending; returns its media id.

    The id can be sent from this number for 30 days. Raises GraphError (e.g. 131053 when
    WhatsApp refuses the file's type or size)."""
    answer = GraphClient(token).post(
        f"{phone_number_id}/media",
        data={"messaging_product": "whatsapp", "type": mime_type},
        files={"file": (filename or "file", content, mime_type)},
    )
    media_id = str(answer.get("id") or "")
    if not media_id:
        raise GraphError("Meta gave no media id for the uploaded file.")
    return media_id


def send_reaction(token: str, phone_number_id: str, to: str, message_id: str, emoji: str) -> str:
    """React to the customer's message `message_id`; an empty emoji removes our reaction."""
    return _send(
        token, phone_number_id, to, {"type": "reaction", "reaction": {"message_id": message_id, "emoji": emoji}}
    )


def send_template(
    token: str, phone_number_id: str, to: str, name: str, language: str, components: list | tuple = ()
) -> str:
    """Send an approved template (the only way to write after the 24-hour window); returns the wamid.

    `components` is Meta's list as is, e.g. `[{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]`.
    """
    template = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = list(components)
    return _send(token, phone_number_id, to, {"type": "template", "template": template})


# --- Media ------------------------------------------------------------------


class MediaInfo(NamedTuple):
    url: str  # valid for about 5 minutes; downloading it needs the token too
    mime_type: str
    sha256: str
    file_size: int | None


class MediaIntegrityError(Exception):
    """The downloaded bytes do not match the sha256 Meta announced."""


def media_url(token: str, media_id: str) -> MediaInfo:
    """GET /{media-id}: where to download a customer's media. Raises GraphError."""
    data = GraphClient(token).get(media_id)
    if not data.get("url"):
        raise GraphError("Meta gave no download address for this media.")
    try:
        file_size = int(data["file_size"]) if data.get("file_size") not in (None, "") else None
    except (TypeError, ValueError):
        file_size = None
    return MediaInfo(
        url=str(data["url"]),
        mime_type=str(data.get("mime_type") or ""),
        sha256=str(data.get("sha256") or ""),
        file_size=file_size,
    )


def download_media(token: str, media_id: str, fetch: Callable[..., bytes]) -> tuple[bytes, MediaInfo]:
    """Find and download a customer's media; returns (content, info).

    `fetch(url, headers=...)` does the HTTP download (it owns the host allowlist
    and size limit) and returns the bytes. Meta's media host wants the token as
    a Bearer header, so it is passed there and never in the URL.
    """
    info = media_url(token, media_id)
    content = fetch(info.url, headers={"Authorization": f"Bearer {token}"})
    # The media endpoint gives a hex digest; check it when it has that shape.
    if re.fullmatch(r"[0-9a-fA-F]{64}", info.sha256) and hashlib.sha256(content).hexdigest() != info.sha256.lower():
        raise MediaIntegrityError(f"Media {media_id} does not match its sha256.")
    return content, info


# --- Templates, phone numbers, webhooks --------------------------------------


@dataclass(frozen=True)
class TemplateVariable:
    component: str  # header | body | button
    name: str  # "1", "2"… (positional) or a parameter name (named)
    example: str = ""


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    language: str
    category: str
    parameter_format: str  # POSITIONAL | NAMED
    variables: tuple[TemplateVariable, ...]
    components: tuple  # Meta's components as listed, to show the agent a preview


def list_templates(token: str, waba_id: str) -> list[Template]:
    """Approved message templates of a WhatsApp Business Account, with the variables each needs."""
    items = GraphClient(token).get_all(
        f"{waba_id}/message_templates",
        fields="id,name,language,status,category,parameter_format,components",
        limit=100,
    )
    templates = []
    for item in items:
        if not isinstance(item, dict) or item.get("status") != "APPROVED":
            continue
        components = tuple(c for c in item.get("components") or [] if isinstance(c, dict))
        templates.append(
            Template(
                id=str(item.get("id") or ""),
                name=str(item.get("name") or ""),
                language=str(item.get("language") or ""),
                category=str(item.get("category") or ""),
                parameter_format=str(item.get("parameter_format") or "POSITIONAL"),
                variables=tuple(v for component in components for v in _variables(component)),
                components=components,
            )
        )
    return templates


def _variables(component: dict) -> list[TemplateVariable]:
    kind = str(component.get("type") or "").lower()
    example = component.get("example") if isinstance(component.get("example"), dict) else {}
    if kind in ("header", "body"):
        names = TEMPLATE_VARIABLE.findall(str(component.get("text") or ""))
        return [TemplateVariable(kind, name, _example(example, kind, name, index)) for index, name in enumerate(names)]
    if kind == "buttons":
        found = []
        for button in component.get("buttons") or []:
            if isinstance(button, dict):
                # Only URL buttons take a variable (the end of the address).
                found += [
                    TemplateVariable("button", name) for name in TEMPLATE_VARIABLE.findall(str(button.get("url") or ""))
                ]
        return found
    return []


def _example(example: dict, kind: str, name: str, index: int) -> str:
    for named in example.get(f"{kind}_text_named_params") or []:
        if isinstance(named, dict) and named.get("param_name") == name:
            return str(named.get("example") or "")
    positional = example.get(f"{kind}_text") or []
    # Meta nests body examples one level deeper than header examples.
    if positional and isinstance(positional[0], list):
        positional = positional[0]
    return str(positional[index]) if index < len(positional) else ""


@dataclass(frozen=True)
class PhoneNumber:
    id: str  # phone_number_id: what sends and webhooks name
    display_phone_number: str
    verified_name: str
    quality_rating: str  # GREEN | YELLOW | RED | UNKNOWN
    messaging_limit_tier: str  # TIER_250 | TIER_1K | … | TIER_UNLIMITED
    throughput: str  # STANDARD | HIGH…


def phone_numbers(token: str, waba_id: str) -> list[PhoneNumber]:
    """The business phone numbers of a WhatsApp Business Account."""
    items = GraphClient(token).get_all(
        f"{waba_id}/phone_numbers",
        fields="id,display_phone_number,verified_name,quality_rating,messaging_limit_tier,throughput",
    )
    return [
        PhoneNumber(
            id=str(item.get("id") or ""),
            display_phone_number=str(item.get("display_phone_number") or ""),
            verified_name=str(item.get("verified_name") or ""),
            quality_rating=str(item.get("quality_rating") or ""),
            messaging_limit_tier=str(item.get("messaging_limit_tier") or ""),
            throughput=str((item.get("throughput") or {}).get("level") or "")
            if isinstance(item.get("throughput"), dict)
            else "",
        )
        for item in items
        if isinstance(item, dict)
    ]


def subscribe_app(token: str, waba_id: str) -> bool:
    """Subscribe our app to the account's webhooks (messages, statuses)."""
    return bool(GraphClient(token).post(f"{waba_id}/subscribed_apps").get("success"))


def unsubscribe_app(token: str, waba_id: str) -> bool:
    return bool(GraphClient(token).delete(f"{waba_id}/subscribed_apps").get("success"))


# --- Errors -------------------------------------------------------------------

# Meta's WhatsApp Cloud API error codes ("Error codes", WhatsApp Business Platform).
WHATSAPP_ERRORS: dict[int, tuple[str, str]] = {
    131047: (
        "More than 24 hours have passed since the customer last wrote: only an approved template can be sent.",
        REFUSED,
    ),
    131026: ("The message could not be delivered: the number may not be on WhatsApp or cannot receive it.", REFUSED),
    131056: ("Too many messages to this customer in a short time: waiting before sending them more.", RATE_LIMITED),
    130429: ("The number's sending rate was reached: waiting before sending more.", RATE_LIMITED),
    131048: (
        "Meta is limiting how many messages this number may send, because earlier ones were blocked or "
        "reported as spam. Check the number's quality rating.",
        RATE_LIMITED,
    ),
    132015: ("This template is paused by Meta for low quality: choose another template.", REFUSED),
    132016: ("This template is disabled by Meta for low quality: choose another template.", REFUSED),
    132000: ("The template's variables do not match what was filled in.", REFUSED),
    132001: ("This template does not exist in this language, or is not approved yet.", REFUSED),
    131042: ("WhatsApp sending is stopped by a payment problem on the business account.", PAUSED),
    190: ("The WhatsApp connection's access token expired or was revoked: reconnect the account.", PAUSED),
    131051: ("WhatsApp does not support this kind of message.", REFUSED),
    131052: ("The customer's media could not be downloaded from WhatsApp.", REFUSED),
    131053: ("The file could not be uploaded to WhatsApp (type, size, or its address cannot be reached).", REFUSED),
    100: ("Meta refused a parameter of the message.", REFUSED),
    131000: ("Something went wrong at Meta: trying again.", TRANSIENT),
    131016: ("WhatsApp is temporarily unavailable: trying again.", TRANSIENT),
    133004: ("WhatsApp's server is temporarily unavailable: trying again.", TRANSIENT),
    4: ("The app reached Meta's call limit: waiting before sending more.", RATE_LIMITED),
    80007: ("The WhatsApp Business Account reached Meta's rate limit: waiting before sending more.", RATE_LIMITED),
}


def whatsapp_error_reason(code: int | None, details: str = "") -> tuple[str, str]:
    """Plain words for the agent and the send outcome (TRANSIENT / RATE_LIMITED / REFUSED / PAUSED) of a WhatsApp error.

    `details` is Meta's `error_data.details`; it is added to the words for codes
    whose reason depends on the case (a bad parameter, an unknown code).
    """
    words, outcome = WHATSAPP_ERRORS.get(code, ("", REFUSED)) if code is not None else ("", REFUSED)
    details = (details or "").strip()
    if not words:
        words = f"WhatsApp refused the message (code {code})." if code is not None else "WhatsApp refused the message."
        return (f"{words} {details}" if details else words), outcome
    if details and code in (100, 131053, 132000, 131026, 131052):
        words = f"{words} {details}"
    return words, outcome


def whatsapp_send_failure(error: GraphError) -> tuple[str, str]:
    """whatsapp_error_reason for a GraphError; no answer, or a 5xx with a code we do not know, is transient."""
    details = error.details
    if error.transport:
        return "Meta could not be reached: trying again.", TRANSIENT
    if error.code in WHATSAPP_ERRORS:
        return whatsapp_error_reason(error.code, details)
    if error.http_status is not None and error.http_status >= 500:
        return "Meta had a temporary problem: trying again.", TRANSIENT
    # For an unknown code Meta's own message is the best explanation we have.
    return whatsapp_error_reason(error.code, details or error.message)
