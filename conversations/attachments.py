"""Storing customer files: the type is decided from the bytes, never from a name or a header."""

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.urls import reverse

from . import media_types
from .models import Attachment


def store_content(attachment: Attachment, content: bytes, name_hint: str = "") -> Attachment:
    """Save the bytes of an attachment the adapter has in hand (email, chat, MMS after fetching)."""
    detected = media_types.detect(content)
    attachment.content_type = detected.mime
    attachment.file.save(
        f"{attachment.kind or 'file'}-{attachment.pk}.{detected.extension}", ContentFile(content), save=False
    )
    attachment.status = Attachment.Status.STORED
    attachment.error = ""
    attachment.save()
    return attachment


def kind_of(mime: str) -> str:
    """The attachment kind channels speak of: image, video, audio or file."""
    family = mime.split("/", 1)[0]
    return family if family in ("image", "video", "audio") else "file"


# Providers that fetch our files by URL (Meta, Twilio) get a link that expires.
PUBLIC_URL_SALT = "conversations.public-file"


def public_url(attachment: Attachment) -> str:
    """An absolute, signed link to one of our own outgoing files, valid for PUBLIC_FILE_URL_SECONDS."""
    token = signing.TimestampSigner(salt=PUBLIC_URL_SALT).sign(str(attachment.pk))
    base = settings.SITE_URL or "http://127.0.0.1:8000"
    return base + reverse("public_file", args=[token])


def attachment_for_token(token: str) -> Attachment | None:
    """The outgoing attachment a signed link names, or None when it is forged or expired."""
    try:
        pk = signing.TimestampSigner(salt=PUBLIC_URL_SALT).unsign(token, max_age=settings.PUBLIC_FILE_URL_SECONDS)
    except signing.BadSignature:
        return None
    # Only what agents send is ever public; customers' files stay behind sign-in.
    return (
        Attachment.objects.filter(pk=pk, item__direction="out", status=Attachment.Status.STORED)
        .exclude(file="")
        .first()
    )
