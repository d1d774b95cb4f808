"""The core's inbound types, as docs/architecture.md specifies them.

Stand-ins until `conversations.inbound` provides IncomingMessage and
IncomingAttachment: the fields and defaults mirror the spec, so the swap is an
import change.
"""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class IncomingAttachment:
    kind: str  # image, video, audio, file
    url: str = ""
    content: bytes | None = None
    filename: str = ""
    content_type: str = ""
    content_id: str = ""


@dataclass(frozen=True)
class IncomingMessage:
    message_id: str
    customer_id: str
    occurred_at: datetime
    text: str = ""
    html: str = ""
    subject: str = ""
    attachments: tuple[IncomingAttachment, ...] = ()
    reply_to_message_id: str = ""
    kind: str = "message"
    metadata: dict = field(default_factory=dict)
    customer_name: str = ""
    conversation_id: int | None = None
    automated: bool = False
