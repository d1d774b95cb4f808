"""Building the email for a reply: who it is from, how it threads, what marks it as ours."""

import re
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.html import linebreaks

from .models import EmailAddress, SentEmail
from .parser import CONVERSATION_HEADER

# "Re:", "RE:", "AW:", "SV:", "Antw:", "Réf.:" and brackets of them, repeated: we add one "Re: ".
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|r|réf|ref|vs)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
# Keep References short: the first (the thread's root) and the latest ones.
MAX_REFERENCES = 20


def reply_subject(subject: str) -> str:
    return "Re: " + (_REPLY_PREFIX.sub("", subject or "").strip() or "(no subject)")


def build_reply(
    address: EmailAddress,
    to: str | list[str],
    subject: str,
    text: str,
    agent_name: str = "",
    thread_message_ids: list[str] | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
    conversation_id: int | None = None,
    automatic: bool = False,
    cc: list[str] | None = None,
) -> EmailMultiAlternatives:
    """The email for a reply from `address`, threaded after `thread_message_ids` (oldest first).

    `attachments` are (filename, content, content type). An automatic reply (Rules,
    Business Hours) carries Auto-Submitted so well-behaved systems don't answer it.
    The Message-ID is in `message.extra_headers["Message-ID"]`; keep it with
    `remember_sent` so the customer's answer threads back."""
    thread_message_ids = [message_id for message_id in (thread_message_ids or []) if message_id]
    sender_name = address.display_name or address.address
    if agent_name:
        sender_name = f"{agent_name} via {sender_name}"
    body = text.rstrip()
    if address.signature.strip():
        body += "\n\n-- \n" + address.signature.strip()

    headers = {
        "Message-ID": make_msgid(domain=settings.MAIL_MESSAGE_ID_DOMAIN),
    }
    if thread_message_ids:
        headers["In-Reply-To"] = thread_message_ids[-1]
        references = thread_message_ids
        if len(references) > MAX_REFERENCES:
            references = [references[0], *references[-(MAX_REFERENCES - 1) :]]
        headers["References"] = " ".join(references)
    if conversation_id is not None:
        headers[CONVERSATION_HEADER] = str(conversation_id)
    if automatic:
        headers["Auto-Submitted"] = "auto-replied"

    message = EmailMultiAlternatives(
        subject=reply_subject(subject) if thread_message_ids else (subject or "(no subject)"),
        body=body,
        from_email=formataddr((sender_name, address.sender_address)),
        to=[to] if isinstance(to, str) else list(to),
        cc=cc or [],
        reply_to=[address.address],
        headers=headers,
    )
    message.attach_alternative(linebreaks(body, autoescape=True), "text/html")
    for filename, content, content_type in attachments or []:
        message.attach(filename, content, content_type)
    return message


def remember_sent(message: EmailMultiAlternatives, address: EmailAddress, conversation_id: int, item_id=None):
    """Keep the Message-ID we sent so replies to it (and bounces of it) find the conversation."""
    return SentEmail.objects.create(
        message_id=message.extra_headers["Message-ID"],
        entry_point=address.entry_point,
        conversation_id=conversation_id,
        item_id=item_id,
    )
