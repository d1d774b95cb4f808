"""The outbound seam: each provider's sender, registered by its adapter.

The core queues messages and drains them in order; a sender does the
provider's part: its reply-window policy, its rate limit, whether an Entry
Point can send at all right now, and the send itself.
"""

from dataclasses import dataclass, field
from datetime import datetime


class SendRefused(Exception):
    """The message cannot be sent; the reason is meant for the agent."""


class SendFailed(Exception):
    """A send the provider did not accept. `outcome` tells the drainer what to do next."""

    TRANSIENT = "transient"  # try again with backoff
    RATE_LIMITED = "rate_limited"  # the provider's own limit: back off, keep the slot
    REFUSED = "refused"  # will not succeed as it is: failed, with the reason shown
    PAUSED = "paused"  # the Entry Point cannot send until an admin acts (token expired)

    def __init__(self, outcome: str, reason: str, *, reached_provider: bool = True, retry_after: float | None = None):
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.reached_provider = reached_provider
        self.retry_after = retry_after


@dataclass(frozen=True)
class ReplyWindow:
    """Whether a reply can reach the customer now, and how (the one answer everything asks)."""

    state: str  # OPEN, EXTENDED (e.g. Meta's HUMAN_AGENT tag), TEMPLATES_ONLY or CLOSED
    closes_at: datetime | None = None
    reason: str = ""  # why not, in the agent's words, when state is CLOSED / TEMPLATES_ONLY
    tag: str = ""  # what the provider needs to send in this state (Meta: HUMAN_AGENT)
    # What the composer tells the agent while the window is open or extended.
    headline: str = ""
    notice: str = ""

    OPEN = "open"
    EXTENDED = "extended"
    TEMPLATES_ONLY = "templates_only"
    CLOSED = "closed"

    @property
    def can_reply(self) -> bool:
        return self.state in (self.OPEN, self.EXTENDED)

    @property
    def allows_automatic(self) -> bool:
        """Auto-replies only go out inside the standard window."""
        return self.state == self.OPEN


ALWAYS_OPEN = ReplyWindow(ReplyWindow.OPEN)


@dataclass(frozen=True)
class RateLimit:
    count: int
    window_seconds: int


@dataclass(frozen=True)
class AttachmentLimits:
    """Files a channel sends: the most bytes per kind (image, video, audio, file), and how many."""

    max_bytes: dict  # kind -> bytes; a kind not listed is not sent
    max_count: int = 1
    # True: text and files go out as one message (email); False: each file is a message of its own.
    together: bool = False
    # kind -> (what the agent reads, the content types the bytes must prove) for a channel that
    # takes only some types of a kind (WhatsApp: images are JPEG or PNG); a kind not listed takes any.
    types: dict = field(default_factory=dict)

    def accepts(self, kind: str, mime: str) -> bool:
        return kind not in self.types or mime in self.types[kind][1]

    def accept(self) -> str:
        """The file picker's `accept` list ("image/*,video/*", exact types where the channel wants them);
        "" when any file goes. Only a hint for the picker: the bytes are checked when sending."""
        accepted = []
        for kind in self.max_bytes:
            if kind in self.types:
                accepted += self.types[kind][1]
            elif kind == "file":
                return ""
            else:
                accepted.append(f"{kind}/*")
        return ",".join(accepted)

    def describe(self, label: str) -> str:
        """What the composer says before sending, e.g. "Instagram: image up to 8 MB; one file a message"."""
        sizes = set(self.max_bytes.values())
        if set(self.max_bytes) == {"image", "video", "audio", "file"} and len(sizes) == 1 and not self.types:
            kinds = f"any file up to {sizes.pop() // 1_000_000} MB"
        else:
            kinds = ", ".join(
                f"{kind} up to {size // 1_000_000} MB" + (f" ({self.types[kind][0]})" if kind in self.types else "")
                for kind, size in self.max_bytes.items()
            )
        count = "one file a message" if self.max_count == 1 else f"up to {self.max_count} files"
        return f"{label}: {kinds}; {count}."


class ChannelSender:
    """What a provider's adapter implements for the Entry Point kinds it serves."""

    entry_point_kinds: tuple[str, ...] = ()
    # How the channel calls itself in the agent's messages ("Instagram", "Email").
    label = ""
    max_text_length: int | None = None

    def reply_window(self, conversation, now: datetime) -> ReplyWindow:
        return ALWAYS_OPEN

    def rate_limit(self, entry_point) -> RateLimit | None:
        return None

    def paused_reason(self, entry_point) -> str:
        """Why the Entry Point cannot send right now ("" when it can)."""
        return ""

    def removed_reason(self, entry_point) -> str:
        """Why the Entry Point will never send as it is (removed); "" when it exists."""
        return ""

    def sends_from(self, entry_point) -> str:
        """The address messages from this Entry Point go out from ("" when that is its own id).

        Other channels' mail (a chat transcript) is sent from it too."""
        return ""

    def recipient_id(self, conversation) -> str:
        """The customer's id at the provider for this conversation (default: the identity's)."""
        identity = conversation.customer.identities.filter(entry_point_id=conversation.entry_point_id).first()
        if identity is None:
            raise SendRefused("The customer has no identity at this entry point.")
        return identity.external_id

    def templates(self, conversation) -> list[dict]:
        """Message templates the agent may send here (WhatsApp outside its window), each
        {"id", "name", "language", "category", "text", "variables": [{"component", "name", "example"}]}."""
        return []

    def attachment_limits(self, conversation) -> AttachmentLimits | None:
        """The files this channel can send to the customer; None when it sends none (yet)."""
        return None

    def validate(self, conversation, kind: str, payload: dict) -> None:
        """Raise SendRefused when the provider would refuse this message."""
        text = payload.get("text", "")
        if self.max_text_length and len(text) > self.max_text_length:
            raise SendRefused(
                f"{self.label} messages can have at most {self.max_text_length} characters; this one has {len(text)}."
            )

    def send(self, message, window: ReplyWindow) -> str:
        """Send one OutboundMessage; return the provider's message id or raise SendFailed."""
        raise NotImplementedError

    def recheck_in_doubt(self, message) -> bool:
        """A send whose outcome was not recorded (worker died mid-call): True if the provider got it."""
        return bool(message.message_id)


_senders: dict[str, ChannelSender] = {}


def register(sender: ChannelSender) -> None:
    for kind in sender.entry_point_kinds:
        _senders[kind] = sender


def sender_for(entry_point) -> ChannelSender | None:
    return _senders.get(entry_point.kind)
