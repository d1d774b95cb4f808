"""Sending on the Chat Channel: the agent's reply goes to the visitor's open widgets, and stays in their history.

Chat has no reply window: a visitor who is not on the page now sees the reply
when they come back (same browser).
"""

from conversations.live.publish import publish
from conversations.senders import AttachmentLimits, ChannelSender, ReplyWindow, SendFailed

from . import visitors
from .models import ChatVisitor, ChatWidget

# What the visitor's browser downloads from us; the widget shows images inline, other files as downloads.
AGENT_FILE_MAX_BYTES = 10_000_000
CHAT_ATTACHMENT_LIMITS = AttachmentLimits(
    {kind: AGENT_FILE_MAX_BYTES for kind in ("image", "video", "audio", "file")}, max_count=5, together=True
)


class ChatSender(ChannelSender):
    entry_point_kinds = ("chat_widget",)
    label = "Chat"
    max_text_length = 5000

    def reply_window(self, conversation, now) -> ReplyWindow:
        return ReplyWindow(
            ReplyWindow.OPEN, notice="Replies appear in the visitor's chat at once, or when they come back."
        )

    def attachment_limits(self, conversation) -> AttachmentLimits:
        # Text and files arrive as one message in the widget, like an email with attachments.
        return CHAT_ATTACHMENT_LIMITS

    def removed_reason(self, entry_point) -> str:
        if not ChatWidget.objects.filter(entry_point_id=entry_point.pk).exists():
            return "This chat widget was removed."
        return ""

    def send(self, message, window: ReplyWindow) -> str:
        visitor = ChatVisitor.objects.filter(
            widget__entry_point_id=message.entry_point_id, visitor_id=message.recipient_id
        ).first()
        if visitor is None:
            raise SendFailed(SendFailed.REFUSED, "This chat visitor no longer exists.", reached_provider=False)
        item = message.item
        payload = visitors.serialise(item)
        payload["text"] = message.payload.get("text", item.text)
        publish(visitors.visitor_group(visitor), {"type": "agent.message", "item": payload})
        return f"chat:{item.pk}"
