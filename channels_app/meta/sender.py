"""Sending on Instagram: Meta's reply windows, the account's send budget, the Send API.

Registered with the core's sender registry in `MetaConfig.ready`.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format

from conversations.attachments import public_url
from conversations.models import Attachment
from conversations.senders import AttachmentLimits, ChannelSender, RateLimit, ReplyWindow, SendFailed

from . import messenger_graph
from . import send as send_api
from .accounts import mark_needs_reauthorization
from .graph import GraphError
from .models import InstagramAccount, MessengerPage, MetaConnection

# Meta's messaging windows: a standard reply within 24 hours of the customer's
# last message; with the HUMAN_AGENT tag up to 7 days; nothing after that.
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)


def instagram_rate_limit() -> RateLimit:
    return RateLimit(settings.INSTAGRAM_SEND_LIMIT, settings.INSTAGRAM_SEND_WINDOW_SECONDS)


def failure_reason(error: GraphError, label: str = "Instagram") -> str:
    """Meta's refusal in plain words for the agent."""
    if error.outside_window:
        return (
            f"{label} refused it: the customer's messaging window has closed. "
            "You can reply again when the customer writes."
        )
    if error.user_unavailable:
        return f"This person isn't available right now (they may have blocked the account or left {label})."
    if error.code == 200:
        return f"The {label} account lacks a permission for this: {error.message}"
    return f"{label} refused the message: {error.message}"


def messenger_rate_limit() -> RateLimit:
    return RateLimit(settings.MESSENGER_SEND_LIMIT, settings.MESSENGER_SEND_WINDOW_SECONDS)


def _local(moment) -> str:
    return date_format(timezone.localtime(moment), "M j, H:i")


def attachment_url(payload: dict) -> str:
    """Where Meta fetches the file: our signed link for an agent's upload, or a URL given as it is."""
    if payload.get("attachment_id"):
        return public_url(Attachment.objects.get(pk=payload["attachment_id"]))
    return payload["attachment_url"]


class ConnectionReasons:
    """Why replies wait or are refused, in the same words for every Meta product."""

    connection_model: type[MetaConnection]

    def connection(self, entry_point) -> MetaConnection | None:
        return self.connection_model.objects.filter(entry_point_id=entry_point.pk).first()

    def paused_reason(self, entry_point) -> str:
        connection = self.connection(entry_point)
        if connection is None or connection.status != MetaConnection.Status.NEEDS_REAUTHORIZATION:
            return ""
        meta_said = f" Meta said: {connection.status_reason.rstrip('.')}." if connection.status_reason else ""
        return (
            f"Paused: {connection.described} needs reauthorization; an admin has been told.{meta_said} "
            "Replies wait and go out once it is reconnected."
        )

    def removed_reason(self, entry_point) -> str:
        connection = self.connection(entry_point)
        if connection is None:
            return f"This conversation's {self.connection_model.product_noun} is not connected."
        if connection.status == MetaConnection.Status.REMOVED:
            return (
                f"{connection.described[0].upper()}{connection.described[1:]} was removed in Settings; "
                "replies can't be sent until it is added again."
            )
        return ""


class MetaPageSender(ChannelSender):
    """Meta's Messenger Platform window rules, shared by Instagram and Messenger."""

    label = ""

    def reply_window(self, conversation, now) -> ReplyWindow:
        label = self.label
        last = conversation.last_customer_message_at
        if last is None:
            return ReplyWindow(
                ReplyWindow.CLOSED,
                reason=f"The customer has not written yet, so {label} does not allow a message.",
            )
        if now <= last + STANDARD_WINDOW:
            closes_at = last + STANDARD_WINDOW
            return ReplyWindow(
                ReplyWindow.OPEN,
                closes_at,
                notice=(
                    f"Replies reach the customer on {label}. The 24-hour window is open until {_local(closes_at)}."
                ),
            )
        if now <= last + HUMAN_AGENT_WINDOW:
            closes_at = last + HUMAN_AGENT_WINDOW
            return ReplyWindow(
                ReplyWindow.EXTENDED,
                closes_at,
                tag=send_api.HUMAN_AGENT,
                headline="The 24-hour window has closed.",
                notice=(
                    "Your reply goes with Meta's HUMAN_AGENT tag: only a person may send it, "
                    f"until {_local(closes_at)} (7 days after the customer's last message)."
                ),
            )
        return ReplyWindow(
            ReplyWindow.CLOSED,
            last + HUMAN_AGENT_WINDOW,
            reason=(
                "More than 7 days have passed since the customer's last message; "
                f"{label} allows replies again when the customer writes."
            ),
        )


class InstagramSender(ConnectionReasons, MetaPageSender):
    connection_model = InstagramAccount
    entry_point_kinds = ("instagram",)
    label = "Instagram"
    max_text_length = 1000

    def attachment_limits(self, conversation) -> AttachmentLimits:
        # Meta's limits for Instagram messages: images 8 MB, video and audio 25 MB; no other files.
        return AttachmentLimits({"image": 8_000_000, "video": 25_000_000, "audio": 25_000_000})

    def rate_limit(self, entry_point) -> RateLimit:
        return instagram_rate_limit()

    def send(self, message, window: ReplyWindow) -> str:
        account = InstagramAccount.objects.get(entry_point_id=message.entry_point_id)
        try:
            if message.kind == message.Kind.REACTION:
                return send_api.send_reaction(
                    account.page_access_token, account.page_id, message.recipient_id, message.payload["message_id"]
                )
            return send_api.send_message(
                account.page_access_token,
                account.page_id,
                message.recipient_id,
                _message_body(message.payload),
                tag=window.tag,
            )
        except GraphError as error:
            if error.token_invalid:
                mark_needs_reauthorization(account, f"Meta refused the page token: {error.message}")
                raise SendFailed(SendFailed.PAUSED, str(error), reached_provider=False) from error
            if error.rate_limited:
                raise SendFailed(SendFailed.RATE_LIMITED, str(error)) from error
            if error.transient:
                raise SendFailed(SendFailed.TRANSIENT, str(error), reached_provider=error.reached_meta) from error
            raise SendFailed(SendFailed.REFUSED, failure_reason(error)) from error


def _message_body(payload: dict) -> dict:
    if payload.get("attachment_url") or payload.get("attachment_id"):
        return {
            "attachment": {
                "type": payload.get("attachment_type", "image"),
                "payload": {"url": attachment_url(payload)},
            }
        }
    return {"text": payload["text"]}


class MessengerSender(ConnectionReasons, MetaPageSender):
    """Facebook Messenger: Instagram's windows, the Page's Send API, Messenger's limits."""

    connection_model = MessengerPage
    entry_point_kinds = ("messenger",)
    label = "Messenger"
    max_text_length = messenger_graph.MAX_TEXT_LENGTH

    def attachment_limits(self, conversation) -> AttachmentLimits:
        size = 25_000_000  # Messenger's limit for every attachment type
        return AttachmentLimits({"image": size, "video": size, "audio": size, "file": size})

    def rate_limit(self, entry_point) -> RateLimit:
        return messenger_rate_limit()

    def send(self, message, window: ReplyWindow) -> str:
        page = MessengerPage.objects.get(entry_point_id=message.entry_point_id)
        token, human_agent = page.page_access_token, window.tag == send_api.HUMAN_AGENT
        payload = message.payload
        try:
            if message.kind == message.Kind.REACTION:
                return messenger_graph.send_reaction(token, page.page_id, message.recipient_id, payload["message_id"])
            if payload.get("attachment_url") or payload.get("attachment_id"):
                return messenger_graph.send_attachment(
                    token,
                    page.page_id,
                    message.recipient_id,
                    payload.get("attachment_type", "image"),
                    attachment_url(payload),
                    human_agent=human_agent,
                )
            return messenger_graph.send_text(token, page.page_id, message.recipient_id, payload["text"], human_agent)
        except GraphError as error:
            if error.token_invalid:
                mark_needs_reauthorization(page, f"Meta refused the page token: {error.message}")
                raise SendFailed(SendFailed.PAUSED, str(error), reached_provider=False) from error
            if error.rate_limited:
                raise SendFailed(SendFailed.RATE_LIMITED, str(error)) from error
            if error.transient:
                raise SendFailed(SendFailed.TRANSIENT, str(error), reached_provider=error.reached_meta) from error
            raise SendFailed(SendFailed.REFUSED, failure_reason(error, "Messenger")) from error
