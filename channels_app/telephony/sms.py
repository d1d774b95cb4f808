"""Incoming SMS: from Twilio's stored webhook parameters to the core's IncomingMessage.

Opt-out keywords are Twilio's (and US carriers') standard set. Twilio itself
stops our texts to a number that replied STOP; we record it too, so the
composer can say so before an agent writes, and so consent has a history.
"""

import logging
from dataclasses import replace
from datetime import datetime
from functools import partial

from celery import current_app
from django.db import OperationalError, transaction
from django.utils import timezone

from channels_app.models import Channel, EntryPoint, PhoneNumber
from conversations import inbound
from conversations.inbound import IncomingAttachment, IncomingMessage

from .models import SmsKeyword, SmsOptOut, TwilioWebhookEvent
from .numbers import format_number

logger = logging.getLogger(__name__)

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
# Twilio sends at most 10 media per MMS; a larger NumMedia is not Twilio's.
MAX_MEDIA = 10
MAX_ERROR_LENGTH = 2000


class InvalidSms(ValueError):
    """The parameters are not an incoming SMS."""


def keyword_kind(body: str) -> str | None:
    """SmsKeyword.Kind for a body that is exactly one of the keywords (any case), else None."""
    word = (body or "").strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return SmsKeyword.Kind.OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return SmsKeyword.Kind.OPT_IN
    if word in HELP_KEYWORDS:
        return SmsKeyword.Kind.HELP
    return None


def to_incoming_message(params: dict, received_at: datetime | None = None) -> IncomingMessage:
    """The core's IncomingMessage for Twilio's incoming-SMS parameters.

    MessageSid is the message id and From (E.164) the customer's id at the
    Entry Point. Media are passed as URLs: Twilio's media URLs need the
    account's credentials, so the adapter fetches them (provider.fetch_media).
    Twilio sends no timestamp, so the message happened when we received it.
    """
    message_id = _text(params, "MessageSid") or _text(params, "SmsSid")
    customer_id = _text(params, "From")
    if not message_id:
        raise InvalidSms("No MessageSid.")
    if not customer_id:
        raise InvalidSms("No From number.")
    attachments = []
    for index in range(min(_count(params.get("NumMedia")), MAX_MEDIA)):
        url = _text(params, f"MediaUrl{index}")
        if not url:
            continue
        content_type = _text(params, f"MediaContentType{index}")
        attachments.append(IncomingAttachment(kind=attachment_kind(content_type), url=url, content_type=content_type))
    metadata = {
        key: _text(params, param)
        for key, param in (("to", "To"), ("segments", "NumSegments"), ("from_country", "FromCountry"))
        if _text(params, param)
    }
    return IncomingMessage(
        message_id=message_id,
        customer_id=customer_id,
        occurred_at=received_at or timezone.now(),
        text=_text(params, "Body"),
        attachments=tuple(attachments),
        metadata=metadata,
        customer_name=format_number(customer_id),
    )


def attachment_kind(content_type: str) -> str:
    main = content_type.split("/", 1)[0].lower()
    return main if main in ("image", "video", "audio") else "file"


def find_entry_point(to: str, channel_kind: str = Channel.Kind.SMS) -> EntryPoint | None:
    """The Entry Point of our connected number `to` on the SMS (or Voice) Channel.

    A number connected to one Channel only answers for the other too (texts to a
    Voice-only number land on its Voice Entry Point rather than being lost)."""
    number = PhoneNumber.objects.filter(e164=to, status=PhoneNumber.Status.CONNECTED).first()
    if number is None:
        return None
    return number.entry_point_for(channel_kind) or number.entry_point


def record_keyword(entry_point: EntryPoint, customer_number: str, body: str, message_sid: str) -> str | None:
    """Record a STOP / START / HELP and apply it to the opt-out list. Returns its kind, or None.

    Idempotent on the MessageSid: a re-run changes nothing."""
    kind = keyword_kind(body)
    if kind is None:
        return None
    keyword = body.strip().upper()
    _, created = SmsKeyword.objects.get_or_create(
        message_sid=message_sid,
        defaults={"entry_point": entry_point, "customer_number": customer_number, "kind": kind, "keyword": keyword},
    )
    if not created:
        return kind
    if kind == SmsKeyword.Kind.OPT_OUT:
        SmsOptOut.objects.update_or_create(
            entry_point=entry_point,
            customer_number=customer_number,
            defaults={"keyword": keyword, "opted_out_at": timezone.now()},
        )
    elif kind == SmsKeyword.Kind.OPT_IN:
        SmsOptOut.objects.filter(entry_point=entry_point, customer_number=customer_number).delete()
    return kind


def is_opted_out(entry_point: EntryPoint, customer_number: str) -> bool:
    """Whether texts to this customer from this Entry Point would be refused (they replied STOP)."""
    return SmsOptOut.objects.filter(entry_point=entry_point, customer_number=customer_number).exists()


FETCH_MEDIA_TASK = "telephony.fetch_mms_media"


def deliver(entry_point: EntryPoint, message: IncomingMessage, account_sid: str = ""):
    """Hand the message to the core's inbound API (docs/architecture.md), then fetch its MMS media.

    Twilio's media URLs need the account's credentials, so the core only keeps
    the URL; a worker of ours downloads each file (by task name: tasks.py
    imports this module)."""
    received = inbound.receive_message(entry_point, message)
    for attachment in received.attachments:
        if attachment.original_url and not attachment.file:
            transaction.on_commit(partial(current_app.send_task, FETCH_MEDIA_TASK, args=[attachment.pk, account_sid]))
    return received


def process_sms_event(event_id: int) -> str:
    """Apply a stored incoming SMS: keywords, then the message to the core. Returns the event's status.

    Idempotent: keywords are unique per MessageSid and the core's receive_message
    on message_id, so a re-run adds nothing."""
    with transaction.atomic():
        event = TwilioWebhookEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None:
            return "missing"
        if event.status in (TwilioWebhookEvent.Status.PROCESSED, TwilioWebhookEvent.Status.IGNORED):
            return event.status
        event.attempts += 1
        try:
            message = to_incoming_message(event.params, event.received_at)
        except InvalidSms as error:
            return _finish(event, TwilioWebhookEvent.Status.FAILED, f"Not an incoming SMS: {error}")
        entry_point = find_entry_point(_text(event.params, "To"))
        if entry_point is None:
            return _finish(
                event, TwilioWebhookEvent.Status.IGNORED, f"No connected Entry Point for {_text(event.params, 'To')!r}."
            )
        kind = record_keyword(entry_point, message.customer_id, message.text, message.message_id)
        if kind is not None:
            # Shown in the timeline like any text; an opt-out is never answered
            # by Rules or auto-replies (Twilio would refuse the send anyway).
            message = replace(
                message,
                metadata={**message.metadata, "sms_keyword": kind},
                automated=kind == SmsKeyword.Kind.OPT_OUT,
            )
        try:
            with transaction.atomic():
                deliver(entry_point, message, account_sid=_text(event.params, "AccountSid"))
        except OperationalError:
            raise
        except Exception as error:
            logger.exception("Twilio SMS event %s could not be delivered", event.pk)
            return _finish(event, TwilioWebhookEvent.Status.FAILED, f"Delivery failed: {error!r}")
        return _finish(event, TwilioWebhookEvent.Status.PROCESSED, "")


def _finish(event: TwilioWebhookEvent, status: str, message: str) -> str:
    event.status = status
    event.last_error = message[:MAX_ERROR_LENGTH]
    event.processed_at = timezone.now() if status != TwilioWebhookEvent.Status.RECEIVED else None
    event.save(update_fields=["status", "attempts", "last_error", "processed_at"])
    return status


def _text(params: dict, name: str) -> str:
    value = params.get(name, "")
    return value if isinstance(value, str) else ""


def _count(value) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


# Twilio's MessageStatus values, as the core's record_delivery names them.
DELIVERY_STATUSES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
}


def process_status_event(event_id: int) -> str:
    """Apply a stored status callback for a text we sent: the core records sent / delivered / failed."""
    from .provider import ERROR_MESSAGES

    with transaction.atomic():
        event = TwilioWebhookEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None:
            return "missing"
        if event.status in (TwilioWebhookEvent.Status.PROCESSED, TwilioWebhookEvent.Status.IGNORED):
            return event.status
        event.attempts += 1
        params = event.params
        status = DELIVERY_STATUSES.get(_text(params, "MessageStatus") or _text(params, "SmsStatus"))
        if status is None:  # queued, sending, accepted: nothing to tell yet
            return _finish(event, TwilioWebhookEvent.Status.IGNORED, "Not a delivery status.")
        number = PhoneNumber.objects.filter(e164=_text(params, "From")).first()
        if number is None:
            return _finish(event, TwilioWebhookEvent.Status.IGNORED, "No connected Entry Point for the sender.")
        code = _count(params.get("ErrorCode"))
        reason = ERROR_MESSAGES.get(code, f"Twilio error {code}.") if code else ""
        # The text may have gone from the number's SMS or its Voice Entry Point.
        for entry_point in number.entry_points():
            if inbound.record_delivery(entry_point, event.message_sid, status, reason=reason) != "unknown message":
                break
        return _finish(event, TwilioWebhookEvent.Status.PROCESSED, "")
