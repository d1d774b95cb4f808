"""Sending on WhatsApp (Cloud API): the 24-hour customer-service window, then approved templates only.

Registered with the core's sender registry in `MetaConfig.ready`.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format

from conversations.models import Attachment
from conversations.senders import AttachmentLimits, ChannelSender, RateLimit, ReplyWindow, SendFailed

from . import whatsapp_graph
from .accounts import mark_needs_reauthorization
from .graph import GraphError
from .models import WhatsAppNumber, WhatsAppTemplate
from .sender import ConnectionReasons

SERVICE_WINDOW = timedelta(hours=24)
MAX_TEXT_LENGTH = 4096  # Cloud API: a text body has at most 4096 characters
TEMPLATES_ONLY_REASON = "Outside the 24-hour window WhatsApp allows only approved templates"
PAIR_RATE_LIMIT = 131056

# Meta's supported media ("Supported media types", WhatsApp Cloud API): the most bytes and the
# content types per kind. Our sizes are in decimal megabytes, a little under Meta's, so a file the
# composer accepts is never refused for size. "file" is WhatsApp's document.
WHATSAPP_ATTACHMENT_LIMITS = AttachmentLimits(
    {"image": 5_000_000, "video": 16_000_000, "audio": 16_000_000, "file": 100_000_000},
    max_count=10,
    types={
        "image": ("JPEG or PNG", ("image/jpeg", "image/png")),
        "video": ("MP4 or 3GP", ("video/mp4", "video/3gpp")),
        "audio": ("AAC, AMR, MP3, M4A or OGG", ("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg")),
        "file": (
            "PDF, Word, Excel or PowerPoint",
            (
                "application/pdf",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ),
        ),
    },
)
# Our attachment kinds as WhatsApp's message types.
WHATSAPP_MEDIA_TYPE = {"image": "image", "video": "video", "audio": "audio", "file": "document"}


def whatsapp_rate_limit() -> RateLimit:
    return RateLimit(settings.WHATSAPP_SEND_PER_SECOND, 1)


def _number(entry_point) -> WhatsAppNumber | None:
    return WhatsAppNumber.objects.filter(entry_point_id=entry_point.pk).first()


def template_choices(waba_id: str) -> list[dict]:
    return [
        {
            "id": str(template.pk),
            "name": template.name,
            "language": template.language,
            "category": template.category,
            "text": template.body_text,
            "variables": template.variables,
        }
        for template in WhatsAppTemplate.objects.filter(waba_id=waba_id, status="APPROVED")
    ]


def template_components(template: WhatsAppTemplate, values: dict) -> list[dict]:
    """Meta's `components` for a send: each component's parameters in the template's order."""
    components = []
    for kind in ("header", "body"):
        names = [v["name"] for v in template.variables if v["component"] == kind]
        if not names:
            continue
        parameters = []
        for name in names:
            parameter = {"type": "text", "text": values.get(f"{kind}:{name}", "")}
            if template.parameter_format == "NAMED":
                parameter["parameter_name"] = name
            parameters.append(parameter)
        components.append({"type": kind, "parameters": parameters})
    buttons = [v for v in template.variables if v["component"] == "button"]
    for index, variable in enumerate(buttons):
        components.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": str(index),
                "parameters": [{"type": "text", "text": values.get(f"button:{variable['name']}", "")}],
            }
        )
    return components


class WhatsAppSender(ConnectionReasons, ChannelSender):
    connection_model = WhatsAppNumber
    entry_point_kinds = ("whatsapp",)
    label = "WhatsApp"
    max_text_length = MAX_TEXT_LENGTH

    def reply_window(self, conversation, now) -> ReplyWindow:
        last = conversation.last_customer_message_at
        if last is not None and now <= last + SERVICE_WINDOW:
            closes_at = last + SERVICE_WINDOW
            local = date_format(timezone.localtime(closes_at), "M j, H:i")
            return ReplyWindow(
                ReplyWindow.OPEN,
                closes_at,
                notice=f"Replies reach the customer on WhatsApp. The 24-hour window is open until {local}.",
            )
        return ReplyWindow(
            ReplyWindow.TEMPLATES_ONLY,
            last + SERVICE_WINDOW if last else None,
            reason=f"{TEMPLATES_ONLY_REASON}.",
        )

    def templates(self, conversation) -> list[dict]:
        number = _number(conversation.entry_point)
        return template_choices(number.waba_id) if number is not None else []

    def rate_limit(self, entry_point) -> RateLimit:
        return whatsapp_rate_limit()

    def attachment_limits(self, conversation) -> AttachmentLimits:
        return WHATSAPP_ATTACHMENT_LIMITS

    def send(self, message, window: ReplyWindow) -> str:
        number = WhatsAppNumber.objects.get(entry_point_id=message.entry_point_id)
        token, sender_id, to = number.access_token, number.phone_number_id, message.recipient_id
        payload = message.payload
        try:
            if message.kind == message.Kind.REACTION:
                return whatsapp_graph.send_reaction(token, sender_id, to, payload["message_id"], "❤️")
            if "template" in payload:
                template = WhatsAppTemplate.objects.filter(pk=payload["template"]["id"]).first()
                if template is None:
                    raise SendFailed(SendFailed.REFUSED, "This template no longer exists: sync the templates.")
                components = template_components(template, payload["template"].get("variables", {}))
                return whatsapp_graph.send_template(token, sender_id, to, template.name, template.language, components)
            if payload.get("attachment_id"):
                return self._send_file(message, number)
            if payload.get("attachment_url"):
                return whatsapp_graph.send_media(
                    token, sender_id, to, payload.get("attachment_type", "image"), link=payload["attachment_url"]
                )
            return whatsapp_graph.send_text(token, sender_id, to, payload["text"])
        except GraphError as error:
            raise _send_failed(error, number) from error

    def _send_file(self, message, number: WhatsAppNumber) -> str:
        """An agent's file: uploaded to WhatsApp's media store, then sent by its media id.

        Meta's guide recommends uploading (POST /{phone-number-id}/media) and sending the id over
        sending a `link`: with a link Meta downloads the file while it sends, so a slow or
        unreachable host fails the message (131053), and our file would have to be on a public
        address (it is not in the sandbox or on a laptop). The id is kept in the payload, so a
        retry after a failed send does not upload again (ids stay valid for 30 days)."""
        payload = message.payload
        attachment = Attachment.objects.get(pk=payload["attachment_id"])
        media_type = WHATSAPP_MEDIA_TYPE[payload.get("attachment_type", "image")]
        filename = attachment.filename or attachment.file.name.rsplit("/", 1)[-1]
        media_id = payload.get("media_id", "")
        if not media_id:
            with attachment.file.open("rb") as stored:
                content = stored.read()
            try:
                media_id = whatsapp_graph.upload_media(
                    number.access_token, number.phone_number_id, content, attachment.content_type, filename
                )
            except GraphError as error:
                # Nothing was sent to the customer: the send budget is not spent.
                raise _send_failed(error, number, reached_provider=False) from error
            message.payload = {**payload, "media_id": media_id}
            message.save(update_fields=["payload"])
        return whatsapp_graph.send_media(
            number.access_token,
            number.phone_number_id,
            message.recipient_id,
            media_type,
            media_id=media_id,
            filename=filename if media_type == "document" else "",
        )


def _send_failed(error: GraphError, number: WhatsAppNumber, *, reached_provider: bool | None = None) -> SendFailed:
    """Meta's refusal as the drainer's outcome, with the reason in the agent's words."""
    reason, outcome = whatsapp_graph.whatsapp_send_failure(error)
    reached = error.reached_meta if reached_provider is None else reached_provider
    if outcome == whatsapp_graph.PAUSED:
        mark_needs_reauthorization(number, reason)
        return SendFailed(SendFailed.PAUSED, reason, reached_provider=False)
    if outcome == whatsapp_graph.RATE_LIMITED:
        retry_after = settings.WHATSAPP_PAIR_RETRY_SECONDS if error.code == PAIR_RATE_LIMIT else None
        return SendFailed(SendFailed.RATE_LIMITED, reason, retry_after=retry_after, reached_provider=reached)
    if outcome == whatsapp_graph.TRANSIENT:
        return SendFailed(SendFailed.TRANSIENT, reason, reached_provider=reached)
    return SendFailed(SendFailed.REFUSED, reason, reached_provider=reached)
