"""Sending on the Email Channel: a proper email in the customer's thread, through Django's email backend.

Email has no reply window and no provider-side send budget here; what it has
is threading (In-Reply-To / References from the conversation's messages) and
the SMTP server's honest answer.
"""

import smtplib

from django.db.models import Q

from conversations.models import Attachment, TimelineItem
from conversations.senders import AttachmentLimits, ChannelSender, ReplyWindow, SendFailed

from .models import EmailAddress
from .outgoing import build_reply, remember_sent


def _address(entry_point) -> EmailAddress | None:
    return EmailAddress.objects.filter(entry_point_id=entry_point.pk).first()


def thread_message_ids(conversation) -> list[str]:
    """The Message-IDs of the conversation's emails, oldest first, for In-Reply-To and References."""
    ids = (
        TimelineItem.objects.filter(conversation=conversation, external_id__isnull=False)
        .filter(Q(direction=TimelineItem.Direction.INBOUND) | Q(direction=TimelineItem.Direction.OUTBOUND))
        .order_by("occurred_at", "id")
        .values_list("external_id", flat=True)
    )
    return [message_id for message_id in ids if message_id.startswith("<")]


def thread_subject(conversation) -> str:
    first = (
        TimelineItem.objects.filter(conversation=conversation, direction=TimelineItem.Direction.INBOUND)
        .exclude(metadata__subject=None)
        .order_by("occurred_at", "id")
        .values_list("metadata__subject", flat=True)
        .first()
    )
    return first or ""


def _files(attachment_ids) -> list[tuple[str, bytes, str]]:
    """The agent's files for the email: (filename, bytes, content type), in the order chosen."""
    files = []
    for attachment in Attachment.objects.filter(pk__in=attachment_ids).order_by("pk"):
        with attachment.file.open("rb") as stored:
            content = stored.read()
        name = attachment.filename or attachment.file.name.rsplit("/", 1)[-1]
        files.append((name, content, attachment.content_type or "application/octet-stream"))
    return files


class EmailSender(ChannelSender):
    entry_point_kinds = ("email_address",)
    label = "Email"

    def reply_window(self, conversation, now) -> ReplyWindow:
        address = _address(conversation.entry_point)
        sender = address.sender_address if address else conversation.entry_point.display_name
        return ReplyWindow(ReplyWindow.OPEN, notice=f"Replies go out as email from {sender}, in the customer's thread.")

    def sends_from(self, entry_point) -> str:
        address = _address(entry_point)
        return address.sender_address if address else ""

    def removed_reason(self, entry_point) -> str:
        address = _address(entry_point)
        if address is None:
            return "This email address is no longer connected."
        if address.removed:
            return f"{address.address} was removed in Settings; replies can't be sent until it is added again."
        return ""

    def attachment_limits(self, conversation) -> AttachmentLimits:
        # Most mail servers refuse messages over 25 MB once encoded (base64 adds a third).
        size = 15_000_000
        return AttachmentLimits({"image": size, "video": size, "audio": size, "file": size}, max_count=5, together=True)

    def validate(self, conversation, kind: str, payload: dict) -> None:
        # Reactions have no meaning in email; the composer does not offer them.
        super().validate(conversation, kind, payload)

    def send(self, message, window: ReplyWindow) -> str:
        item = message.item
        conversation = item.conversation
        address = EmailAddress.objects.select_related("entry_point").get(entry_point_id=message.entry_point_id)
        email = build_reply(
            address,
            message.recipient_id,
            thread_subject(conversation),
            message.payload.get("text", ""),
            agent_name=item.author.get_full_name() if item.author else "",
            thread_message_ids=thread_message_ids(conversation),
            conversation_id=conversation.pk,
            automatic=bool(message.payload.get("automatic")),
            attachments=_files(message.payload.get("attachment_ids", [])),
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            reasons = "; ".join(f"{code} {text.decode(errors='replace')}" for code, text in error.recipients.values())
            raise SendFailed(SendFailed.REFUSED, f"The mail server refused the address: {reasons}") from error
        except smtplib.SMTPResponseException as error:
            reason = f"The mail server answered {error.smtp_code} {error.smtp_error.decode(errors='replace')}"
            outcome = SendFailed.REFUSED if 500 <= error.smtp_code < 600 else SendFailed.TRANSIENT
            raise SendFailed(outcome, reason) from error
        except (smtplib.SMTPException, OSError) as error:
            raise SendFailed(
                SendFailed.TRANSIENT, f"The mail server could not be reached ({error})", reached_provider=False
            ) from error
        remember_sent(email, address, conversation.pk, item.pk)
        return email.extra_headers["Message-ID"]
