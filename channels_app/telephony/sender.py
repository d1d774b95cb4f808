"""Sending texts: SMS has no reply window, a per-number send rate, opt-outs, and the Messages API.

Registered with the core's sender registry in `TelephonyConfig.ready`. A phone
number can be an Entry Point of the SMS Channel, of the Voice Channel, or of
both (one Entry Point each, same number). Replies in either kind of
conversation go out as SMS from that number, when the number can text;
a customer who replied STOP to the number is not texted from it at all.
"""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from channels_app.models import PhoneNumber
from conversations.attachments import public_url
from conversations.models import Attachment
from conversations.senders import AttachmentLimits, ChannelSender, RateLimit, ReplyWindow, SendFailed, SendRefused

from .models import SmsOptOut, TwilioAccount, TwilioNumber
from .numbers import format_number
from .provider import ProviderError, TwilioProvider

AUTH_FAILED = 20003
TOO_MANY_REQUESTS = 20429
# Twilio's Messages API refuses a body longer than this.
MAX_BODY = 1600
# MMS: Twilio accepts up to 10 media of 5 MB in all; carriers pass images reliably, so we send those.
MMS_MAX_BYTES = 5_000_000
MMS_MAX_FILES = 10


def twilio_number(entry_point) -> TwilioNumber | None:
    return (
        TwilioNumber.objects.select_related("account", "phone_number")
        .filter(phone_number__e164=entry_point.external_id, phone_number__status=PhoneNumber.Status.CONNECTED)
        .first()
    )


def status_callback_url() -> str:
    return settings.SITE_URL + reverse("telephony:status")


def opt_out(entry_point, customer_number: str) -> SmsOptOut | None:
    """The customer's STOP to this number, on any of its Entry Points (carriers block the number, not a Channel)."""
    return (
        SmsOptOut.objects.filter(entry_point__external_id=entry_point.external_id, customer_number=customer_number)
        .order_by("-opted_out_at")
        .first()
    )


class SmsSender(ChannelSender):
    entry_point_kinds = ("phone_number",)
    label = "SMS"
    max_text_length = MAX_BODY

    def reply_window(self, conversation, now) -> ReplyWindow:
        number = twilio_number(conversation.entry_point)
        if number is None:
            return ReplyWindow(ReplyWindow.CLOSED, reason="This number is no longer connected.")
        if not number.sms:
            return ReplyWindow(
                ReplyWindow.CLOSED,
                reason=f"{format_number(number.phone_number.e164)} cannot send text messages; call the customer back.",
            )
        return ReplyWindow(
            ReplyWindow.OPEN, notice=f"Replies go out as SMS from {format_number(number.phone_number.e164)}."
        )

    def rate_limit(self, entry_point) -> RateLimit:
        # Twilio queues what a number sends beyond its rate (a long code: 1 a second);
        # holding back here keeps the order and the delivery states honest.
        return RateLimit(max(int(getattr(settings, "SMS_SEND_PER_SECOND", 1)), 1), 1)

    def paused_reason(self, entry_point) -> str:
        number = twilio_number(entry_point)
        if number is not None and number.account.status == TwilioAccount.Status.NEEDS_CREDENTIALS:
            return (
                f"Paused: Twilio refused the credentials of the account {number.account} "
                "(an admin must update them in Settings › Phone numbers). Replies wait and go out then."
            )
        return ""

    def removed_reason(self, entry_point) -> str:
        if twilio_number(entry_point) is None:
            return "This number is no longer connected in Settings › Phone numbers."
        return ""

    def attachment_limits(self, conversation) -> AttachmentLimits | None:
        """Pictures as MMS, with the text in the same message, where the number can send MMS."""
        number = twilio_number(conversation.entry_point)
        if number is None or not number.mms:
            return None
        return AttachmentLimits({"image": MMS_MAX_BYTES}, max_count=MMS_MAX_FILES, together=True)

    def validate(self, conversation, kind: str, payload: dict) -> None:
        super().validate(conversation, kind, payload)
        identity = conversation.customer.identities.filter(entry_point_id=conversation.entry_point_id).first()
        stopped = opt_out(conversation.entry_point, identity.external_id) if identity else None
        if stopped is not None:
            when = date_format(timezone.localtime(stopped.opted_out_at), "M j, H:i")
            raise SendRefused(
                f"The customer opted out of texts: they replied {stopped.keyword} on {when}. "
                "They can text START to opt back in."
            )

    def send(self, message, window: ReplyWindow) -> str:
        number = twilio_number(message.entry_point)
        if number is None:
            raise SendFailed(SendFailed.REFUSED, self.removed_reason(message.entry_point), reached_provider=False)
        provider = TwilioProvider.for_account(number.account)
        try:
            return provider.send_sms(
                number.phone_number.e164,
                message.recipient_id,
                message.payload.get("text", ""),
                media_urls=media_urls(message.payload),
                status_callback=status_callback_url(),
            )
        except ProviderError as error:
            raise failure(error, number.account) from error


def media_urls(payload: dict) -> list[str]:
    """Signed, expiring links to the files of an MMS; Twilio fetches them from us."""
    ids = payload.get("attachment_ids") or []
    return [public_url(attachment) for attachment in Attachment.objects.filter(pk__in=ids).order_by("pk")]


def failure(error: ProviderError, account: TwilioAccount) -> SendFailed:
    """What the drainer should do about a refused send."""
    if error.code == TOO_MANY_REQUESTS:
        return SendFailed(SendFailed.RATE_LIMITED, error.message)
    if error.code == AUTH_FAILED:
        account.record_error(error.message, needs_credentials=True)
        return SendFailed(SendFailed.PAUSED, error.message, reached_provider=False)
    if error.transient:
        return SendFailed(SendFailed.TRANSIENT, error.message, reached_provider=error.code is not None)
    return SendFailed(SendFailed.REFUSED, error.message)
