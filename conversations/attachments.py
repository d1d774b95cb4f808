"""Storing customer files: the type is decided from the bytes, never from a name or a header."""

from django.core.files.base import ContentFile

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
