"""The core's inbound types, as docs/architecture.md specifies them.

`conversations.inbound` does not define them yet; these mirror the spec field
for field so the lead can swap the import for the core's without other changes.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class IncomingAttachment:
    kind: str
    url: str = ""
    content: bytes | None = None
    filename: str = ""
    content_type: str = ""
    content_id: str = ""


@dataclass
class IncomingMessage:
    message_id: str
    customer_id: str
    occurred_at: datetime
    text: str = ""
    html: str = ""
    subject: str = ""
    attachments: list[IncomingAttachment] = field(default_factory=list)
    reply_to_message_id: str = ""
    kind: str = "message"
    metadata: dict[str, Any] = field(default_factory=dict)
    customer_name: str = ""
    conversation_id: int | None = None
    automated: bool = False
