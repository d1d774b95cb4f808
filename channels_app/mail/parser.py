"""Raw RFC 5322 bytes → `ParsedEmail`: plain values the rest of the app can trust.

Mail from the wild is often broken. The parser never raises for a bad part or
header: it keeps what it can read and lists the rest in `problems`.
"""

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from django.conf import settings
from django.utils import timezone

from conversations.inbound import IncomingAttachment, IncomingMessage
from conversations.models import TimelineItem

from . import html_content as mail_html
from . import quoting

logger = logging.getLogger(__name__)

# The header our outgoing mail carries (see outgoing.py).
CONVERSATION_HEADER = "X-Support-Conversation"
# The header of a Settings "Send a test" message (see forwarding_test.py).
FORWARDING_TEST_HEADER = "X-Support-Test"

# Declared charsets that mail clients use for a superset: decode with the superset.
CHARSET_SUPERSETS = {
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
}


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""
    inline: bool = False


@dataclass
class Bounce:
    """What a delivery status notification (RFC 3464) says about one of our messages."""

    original_message_id: str = ""
    recipient: str = ""
    action: str = ""
    status: str = ""
    diagnostic: str = ""


@dataclass
class ParsedEmail:
    message_id: str
    from_address: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: str = ""
    subject: str = ""
    date: datetime | None = None
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    text: str = ""
    html: str = ""
    visible_html: str = ""
    visible_text: str = ""
    quoted_text: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    automated: bool = False
    automated_reason: str = ""
    bounce: Bounce | None = None
    is_ours: bool = False
    conversation_hint: str = ""
    forwarding_test: str = ""
    message_id_synthesised: bool = False
    problems: list[str] = field(default_factory=list)


def parse(raw: bytes) -> ParsedEmail:
    """Parse one message. Never raises for malformed content."""
    problems = []
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as error:  # the stdlib parser is lenient, but guard anyway
        problems.append(f"Unreadable message: {error!r}")
        message = BytesParser(policy=policy.compat32).parsebytes(raw)
    problems.extend(f"Header defect: {defect.__class__.__name__}" for defect in message.defects)

    message_id = _message_id(_header(message, "Message-ID", problems))
    synthesised = not message_id
    if synthesised:
        # Stable across redeliveries of the same bytes, so receiving stays idempotent.
        message_id = f"<synthesised.{hashlib.sha256(raw).hexdigest()[:32]}@{settings.MAIL_MESSAGE_ID_DOMAIN}>"

    from_name, from_address = parseaddr(_header(message, "From", problems))
    parsed = ParsedEmail(
        message_id=message_id,
        message_id_synthesised=synthesised,
        from_address=from_address.strip().lower(),
        from_name=from_name.strip(),
        to=_addresses(message, "To", problems),
        cc=_addresses(message, "Cc", problems),
        reply_to=parseaddr(_header(message, "Reply-To", problems))[1].strip().lower(),
        subject=_header(message, "Subject", problems).strip(),
        date=_date(_header(message, "Date", problems)),
        in_reply_to=_message_id(_header(message, "In-Reply-To", problems)),
        references=_message_ids(_header(message, "References", problems)),
        conversation_hint=_header(message, CONVERSATION_HEADER, problems).strip(),
        forwarding_test=_header(message, FORWARDING_TEST_HEADER, problems).strip(),
        problems=problems,
    )

    texts, htmls = [], []
    _collect(message, parsed, texts, htmls, in_related=False)
    parsed.text = "\n\n".join(text for text in texts if text.strip())
    # Apple Mail splits the HTML of a message with inline attachments into several
    # parts; mail clients show them one after another, and so do we.
    raw_html = "".join(htmls)
    parsed.html = mail_html.sanitise(raw_html) if raw_html else ""
    if not parsed.text and raw_html:
        parsed.text = mail_html.to_text(raw_html)
    parsed.visible_text, parsed.quoted_text = quoting.split_reply(parsed.text)
    # What agents see first. With quoted history in the text, the HTML is cut
    # above its <blockquote>; HTML that quotes without one (Outlook) gives way
    # to the text, so the history is always folded away.
    if parsed.quoted_text:
        parsed.visible_html = mail_html.visible_part(parsed.html)
    else:
        parsed.visible_html = parsed.html

    parsed.automated_reason = _automated_reason(message, parsed, problems)
    parsed.automated = bool(parsed.automated_reason)
    parsed.is_ours = _is_ours(parsed)
    return parsed


def _collect(part: Message, parsed: ParsedEmail, texts: list, htmls: list, in_related: bool) -> None:
    """Walk the MIME tree by hand: message/* parts are kept whole, never read as our body."""
    try:
        content_type = part.get_content_type()
    except Exception:
        content_type = "application/octet-stream"
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        if content_type == "multipart/report":
            parsed.bounce = _bounce(part, parsed.problems) or parsed.bounce
        children = part.get_payload()
        if not isinstance(children, list):
            parsed.problems.append(f"{content_type} without parts")
            return
        related = in_related or content_type == "multipart/related"
        if content_type == "multipart/alternative":
            children = _preferred_alternatives(children)
        for child in children:
            try:
                _collect(child, parsed, texts, htmls, related)
            except Exception as error:
                parsed.problems.append(f"Unreadable {content_type} part: {error!r}")
        return

    disposition = (_safe(part.get_content_disposition) or "").lower()
    filename = _filename(part, parsed.problems)
    content_id = _header(part, "Content-ID", parsed.problems).strip().strip("<>")
    is_body_text = content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename
    if is_body_text:
        text = _decode_text(part, parsed.problems)
        (texts if content_type == "text/plain" else htmls).append(text)
        return
    if content_type in ("message/delivery-status", "message/feedback-report"):
        return
    content = _payload_bytes(part, parsed.problems)
    if not filename:
        filename = _default_filename(content_type)
    parsed.attachments.append(
        ParsedAttachment(
            filename=filename,
            content_type=content_type,
            content=content,
            content_id=content_id,
            inline=disposition == "inline" or (in_related and bool(content_id) and disposition != "attachment"),
        )
    )


def _preferred_alternatives(children):
    """From multipart/alternative keep one text/plain and one text/html (the last of each: the richest)."""
    plain = html = None
    others = []
    for child in children:
        content_type = _safe(child.get_content_type)
        if content_type == "text/plain":
            plain = child
        elif content_type == "text/html" or content_type in ("multipart/related", "multipart/mixed"):
            html = child
        elif content_type == "multipart/alternative":
            others.append(child)
    kept = [child for child in (plain, html) if child is not None]
    return kept or others or children


def _decode_text(part: Message, problems: list) -> str:
    content = _payload_bytes(part, problems)
    declared = (_safe(part.get_content_charset) or "").lower()
    text = decode_bytes(content, declared, problems)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_bytes(content: bytes, declared: str, problems: list | None = None) -> str:
    """Decode with the declared charset, then UTF-8, then Windows-1252, then Latin-1 (never fails).

    Mislabelled mail is common: "iso-8859-1" that is really Windows-1252, "utf-8"
    that is really Latin-1. Each strict attempt that fails falls through to the next.
    """
    candidates = []
    if declared:
        candidates.append(CHARSET_SUPERSETS.get(declared, declared))
    candidates += ["utf-8", "cp1252"]
    for charset in candidates:
        try:
            text = content.decode(charset)
        except LookupError:
            if problems is not None:
                problems.append(f"Unknown charset {declared!r}")
            continue
        except UnicodeDecodeError:
            continue
        if declared and charset != CHARSET_SUPERSETS.get(declared, declared) and problems is not None:
            problems.append(f"Text declared {declared!r} was decoded as {charset}")
        return text
    if problems is not None:
        problems.append(f"Text declared {declared!r} was decoded as latin-1")
    return content.decode("latin-1")


def _payload_bytes(part: Message, problems: list) -> bytes:
    try:
        content = part.get_payload(decode=True)
    except Exception as error:
        problems.append(f"Undecodable part: {error!r}")
        content = None
    if content is None:
        payload = part.get_payload()
        if isinstance(payload, str):
            return payload.encode("utf-8", "surrogateescape")
        if isinstance(payload, list):  # message/rfc822: keep the enclosed message whole
            try:
                return b"".join(item.as_bytes(policy=policy.compat32) for item in payload)
            except Exception as error:
                problems.append(f"Unreadable enclosed message: {error!r}")
        return b""
    for defect in getattr(part, "defects", []):
        problems.append(f"Part defect: {defect.__class__.__name__}")
    return content


def _filename(part: Message, problems: list) -> str:
    try:
        filename = part.get_filename() or ""
    except Exception as error:
        problems.append(f"Unreadable filename: {error!r}")
        return ""
    # Keep only the last path component: "../../etc/passwd" or "C:\\x\\a.exe" are names, not paths.
    return re.split(r"[\\/]", str(filename))[-1].strip()[:255]


def _default_filename(content_type: str) -> str:
    if content_type == "message/rfc822":
        return "message.eml"
    if content_type == "text/rfc822-headers":
        return "headers.txt"
    return "attachment"


def _safe(method, default=None):
    try:
        return method()
    except Exception:
        return default


def _header(message: Message, name: str, problems: list) -> str:
    """One header as text; falls back to decoding the raw value when the modern policy chokes."""
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception as error:
        problems.append(f"Unreadable {name} header: {error!r}")
    for key, raw in message.raw_items() if hasattr(message, "raw_items") else message.items():
        if key.lower() == name.lower():
            try:
                return str(make_header(decode_header(str(raw))))
            except Exception:
                return str(raw)
    return ""


def _addresses(message: Message, name: str, problems: list) -> list[str]:
    value = _header(message, name, problems)
    return [address.strip().lower() for _, address in getaddresses([value]) if "@" in address]


_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def _message_id(value: str) -> str:
    """The first <...> id in a header; a bare id (some clients omit brackets) is bracketed."""
    found = _message_ids(value)
    return found[0] if found else ""


def _message_ids(value: str) -> list[str]:
    found = _MESSAGE_ID.findall(value or "")
    if not found and value and value.strip() and " " not in value.strip():
        found = [f"<{value.strip().strip('<>')}>"]
    return found


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        date = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if timezone.is_naive(date):
        date = date.replace(tzinfo=UTC)
    return date


def _automated_reason(message: Message, parsed: ParsedEmail, problems: list) -> str:
    """Why this is mail no one should answer automatically (RFC 3834 and common practice); "" when a person wrote."""
    auto_submitted = _header(message, "Auto-Submitted", problems).strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence", problems).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        value = _header(message, name, problems).strip()
        if value:
            return f"{name}: {value}"
    if _header(message, "List-Id", problems) or _header(message, "List-Unsubscribe", problems):
        return "mailing list"
    if parsed.bounce is not None or _safe(message.get_content_type) == "multipart/report":
        return "delivery status notification"
    local_part = parsed.from_address.split("@")[0]
    if local_part in ("mailer-daemon", "postmaster"):
        return f"From {parsed.from_address}"
    return ""


def _is_ours(parsed: ParsedEmail) -> bool:
    """Our own outgoing mail coming back (a loop, a Cc to our address, a forward)."""
    if parsed.conversation_hint:
        return True
    if parsed.message_id_synthesised:
        return False
    domain = parsed.message_id.strip("<>").rpartition("@")[2].lower()
    return domain == settings.MAIL_MESSAGE_ID_DOMAIN.lower()


def _bounce(report: Message, problems: list) -> Bounce | None:
    """Read an RFC 3464 report: the failed recipient, status and the original Message-ID."""
    if (_safe(lambda: report.get_param("report-type")) or "").lower() != "delivery-status":
        return None
    bounce = Bounce()
    for part in report.get_payload() if isinstance(report.get_payload(), list) else []:
        content_type = _safe(part.get_content_type)
        if content_type == "message/delivery-status":
            for block in _status_blocks(part):
                bounce.recipient = bounce.recipient or _field_value(block, "Final-Recipient").lower()
                bounce.action = bounce.action or _field_value(block, "Action").lower()
                bounce.status = bounce.status or _field_value(block, "Status")
                bounce.diagnostic = bounce.diagnostic or _field_value(block, "Diagnostic-Code")
        elif content_type in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            bounce.original_message_id = bounce.original_message_id or _enclosed_message_id(part, problems)
    return bounce


def _status_blocks(part: Message) -> list:
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload
    # Some MTAs send the status as plain text the parser did not split.
    text = payload if isinstance(payload, str) else ""
    return [BytesParser(policy=policy.compat32).parsebytes(block.encode()) for block in re.split(r"\n\s*\n", text)]


def _field_value(block: Message, name: str) -> str:
    value = str(_safe(lambda: block.get(name)) or "")
    # "rfc822; someone@example.com" and "smtp; 550 5.1.1 ..." carry a type first.
    if ";" in value and name in ("Final-Recipient", "Original-Recipient", "Diagnostic-Code"):
        value = value.split(";", 1)[1]
    return " ".join(value.split())


def _enclosed_message_id(part: Message, problems: list) -> str:
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        return _message_id(_header(payload[0], "Message-ID", problems))
    text = payload if isinstance(payload, str) else ""
    match = re.search(r"^Message-ID:\s*(.+)$", text, re.IGNORECASE | re.MULTILINE)
    return _message_id(match.group(1)) if match else ""


def attachment_kind(content_type: str) -> str:
    """The core's attachment kind for a MIME type."""
    maintype = content_type.split("/")[0]
    return {"image": "image", "video": "video", "audio": "audio"}.get(maintype, "file")


def to_incoming_message(parsed: ParsedEmail, conversation_id: int | None = None) -> IncomingMessage:
    """The core's IncomingMessage for a parsed email (customer_id is the sender's address)."""
    return IncomingMessage(
        message_id=parsed.message_id,
        customer_id=parsed.from_address,
        customer_name=parsed.from_name,
        occurred_at=parsed.date or timezone.now(),
        text=parsed.visible_text or parsed.text,
        html=parsed.visible_html,
        subject=parsed.subject,
        attachments=tuple(
            IncomingAttachment(
                kind=attachment_kind(attachment.content_type),
                content=attachment.content,
                filename=attachment.filename,
                content_type=attachment.content_type,
                content_id=attachment.content_id,
            )
            for attachment in parsed.attachments
        ),
        reply_to_message_id=parsed.in_reply_to,
        kind=TimelineItem.Kind.CUSTOMER_MESSAGE,
        metadata={
            "to": parsed.to,
            "cc": parsed.cc,
            "reply_to": parsed.reply_to,
            "references": parsed.references,
            "quoted_text": parsed.quoted_text,
            "automated_reason": parsed.automated_reason,
            "bounce": vars(parsed.bounce) if parsed.bounce else None,
            "problems": parsed.problems,
        },
        conversation_id=conversation_id,
        automated=parsed.automated,
    )
