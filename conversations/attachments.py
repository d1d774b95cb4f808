"""Storing customer files: the type is decided from the bytes, never from a name or a header."""

import filetype
from django.core.files.base import ContentFile

from .models import Attachment

# Served inline to agents only when the bytes prove one of these; everything else is a download.
INLINE_TYPES = {
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
    "audio/mpeg",
    "audio/ogg",
    "audio/x-wav",
    "audio/mp4",
    "audio/aac",
}


def detected_type(content: bytes) -> tuple[str, str]:
    """(content type, extension) proven by the bytes; ("application/octet-stream", "bin") when unknown."""
    kind = filetype.guess(content[:8192])
    if kind is None:
        return "application/octet-stream", "bin"
    return kind.mime, kind.extension


def store_content(attachment: Attachment, content: bytes, name_hint: str = "") -> Attachment:
    content_type, extension = detected_type(content)
    attachment.content_type = content_type
    attachment.file.save(f"{attachment.kind or 'file'}-{attachment.pk}.{extension}", ContentFile(content), save=False)
    attachment.status = Attachment.Status.STORED
    attachment.error = ""
    attachment.save()
    return attachment
