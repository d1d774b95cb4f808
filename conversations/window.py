"""The reply window: whether and how a reply can reach the customer now.

One home for the rule. The composer, `send_reply`, the drainer, the failure
text, Retry and auto-replies all ask `reply_window`; the Entry Point's sender
(its adapter) knows the channel's policy (Instagram: 24 hours, then Meta's
HUMAN_AGENT tag up to 7 days; email: always open).
"""

from django.utils import timezone

from .senders import ReplyWindow, sender_for

NO_SENDER = ReplyWindow(ReplyWindow.CLOSED, reason="This conversation's entry point cannot send messages.")


def reply_window(conversation, now=None) -> ReplyWindow:
    sender = sender_for(conversation.entry_point)
    if sender is None:
        return NO_SENDER
    removed = sender.removed_reason(conversation.entry_point)
    if removed:
        return ReplyWindow(ReplyWindow.CLOSED, reason=removed)
    return sender.reply_window(conversation, now or timezone.now())
