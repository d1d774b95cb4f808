"""Downloading media from Meta's CDN links (they expire) into our own storage."""

import logging
import mimetypes
from pathlib import PurePosixPath
from urllib.parse import urlparse

import requests
from django.conf import settings
from django.core.files.base import ContentFile

logger = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 25 * 1024 * 1024


class MediaError(Exception):
    pass


def fetch_media(url: str) -> tuple[bytes, str]:
    """Download one media URL; returns (content, content type). Raises MediaError."""
    if urlparse(url).scheme not in ("http", "https"):
        raise MediaError("Not a web address.")
    try:
        response = requests.get(url, timeout=settings.META_HTTP_TIMEOUT, stream=True)
        response.raise_for_status()
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_MEDIA_BYTES:
                raise MediaError("The file is larger than 25 MB.")
            chunks.append(chunk)
    except requests.RequestException as error:
        raise MediaError(f"Download failed ({type(error).__name__}).") from None
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    return b"".join(chunks), content_type


def file_name_for(url: str, content_type: str, stem: str) -> str:
    suffix = PurePosixPath(urlparse(url).path).suffix.lower()
    if not suffix or len(suffix) > 6:
        suffix = mimetypes.guess_extension(content_type or "") or ".bin"
    return f"{stem}{suffix}"


def download_attachment(attachment_id: int, final: bool = False) -> bool:
    """Download an Attachment's original URL into its file. False means "try again later"."""
    from conversations.models import Attachment, Conversation

    attachment = Attachment.objects.filter(pk=attachment_id).select_related("item").first()
    if attachment is None or attachment.status == Attachment.Status.STORED:
        return True
    try:
        content, content_type = fetch_media(attachment.original_url)
    except MediaError as error:
        logger.warning("Attachment %s not downloaded: %s", attachment_id, error)
        if final:
            attachment.status = Attachment.Status.FAILED
            attachment.error = str(error)
            attachment.save(update_fields=["status", "error"])
            Conversation.touch(attachment.item.conversation_id)
        return final
    attachment.file.save(
        file_name_for(attachment.original_url, content_type, f"{attachment.item_id}-{attachment.pk}"),
        ContentFile(content),
        save=False,
    )
    attachment.content_type = content_type
    attachment.status = Attachment.Status.STORED
    attachment.error = ""
    attachment.save(update_fields=["file", "content_type", "status", "error"])
    Conversation.touch(attachment.item.conversation_id)
    return True
