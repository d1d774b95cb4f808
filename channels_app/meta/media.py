"""Downloading media from Meta's CDN links (they expire) into our own storage."""

import logging
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.files.base import ContentFile

from conversations import media_types, safe_fetch
from conversations.models import Attachment, Conversation

logger = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 25 * 1024 * 1024


class MediaError(Exception):
    pass


class MediaRefused(MediaError):
    """The URL is not one we fetch at all; retrying cannot help."""


def sandbox_hosts() -> list[tuple[str, int]]:
    """Our own sandbox's (host, port), fetched over HTTP and locally only while the sandbox is on."""
    if not settings.META_SANDBOX:
        return []
    parts = urlsplit(settings.SITE_URL or "http://127.0.0.1:8000")
    return [((parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80))]


class BearerToken(requests.auth.AuthBase):
    """WhatsApp's media host wants the number's token as a Bearer header (never in the URL)."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def fetch_media(url: str, token: str = "") -> tuple[bytes, str]:
    """Download one media URL from Meta's CDN; returns (content, content type). Raises MediaError.

    `token` (WhatsApp media) goes as a Bearer header to the first host only, never to a redirect's."""
    try:
        return safe_fetch.fetch(
            url,
            allowed_hosts=settings.META_MEDIA_HOSTS,
            max_bytes=MAX_MEDIA_BYTES,
            timeout=settings.META_HTTP_TIMEOUT,
            auth=BearerToken(token) if token else None,
            trusted_local_hosts=sandbox_hosts(),
        )
    except safe_fetch.FetchRefused as error:
        raise MediaRefused(str(error)) from None
    except safe_fetch.FetchError as error:
        raise MediaError(str(error)) from None


def file_name_for(content: bytes, stem: str) -> str:
    """A storage name whose extension is the type the bytes prove (never the URL's or the sender's)."""
    return f"{stem}.{media_types.detect(content).extension}"


def download_attachment(attachment_id: int, final: bool = False) -> bool:
    """Download an Attachment's original URL into its file. False means "try again later"."""

    attachment = Attachment.objects.filter(pk=attachment_id).select_related("item").first()
    if attachment is None or attachment.status == Attachment.Status.STORED:
        return True
    try:
        content, _content_type = fetch_media(attachment.original_url)
    except MediaError as error:
        logger.warning("Attachment %s not downloaded: %s", attachment_id, error)
        final = final or isinstance(error, MediaRefused)
        if final:
            attachment.status = Attachment.Status.FAILED
            attachment.error = str(error)
            attachment.save(update_fields=["status", "error"])
            Conversation.touch(attachment.item.conversation_id)
        return final
    stem = f"{attachment.item_id}-{attachment.pk}"
    attachment.file.save(file_name_for(content, stem), ContentFile(content), save=False)
    # The type the bytes prove, not the CDN's Content-Type header.
    attachment.content_type = media_types.detect(content).mime
    attachment.status = Attachment.Status.STORED
    attachment.error = ""
    attachment.save(update_fields=["file", "content_type", "status", "error"])
    Conversation.touch(attachment.item.conversation_id)
    return True
