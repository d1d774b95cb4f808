"""What a customer's file really is, decided from its bytes, for every channel.

A file name or a Content-Type comes from whoever sent the file, so neither is
trusted: an "invoice.html" or an SVG served from our own origin would run
script as the signed-in agent. Only types proven by their magic bytes and
unable to carry script are shown inline; everything else is a download.
"""

from dataclasses import dataclass

import filetype

# Enough of the file's start for every signature filetype knows.
SIGNATURE_BYTES = 8192

# Images, video and audio a browser renders without running script. SVG is
# deliberately absent (it is XML that can carry script); filetype cannot prove
# it anyway.
INLINE_TYPES = {
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
    "audio/mpeg",
    "audio/ogg",
    "audio/mp4",
    "audio/aac",
    "audio/x-wav",
    "audio/wav",
}


@dataclass(frozen=True)
class DetectedType:
    mime: str
    extension: str
    inline: bool


UNKNOWN = DetectedType(mime="application/octet-stream", extension="bin", inline=False)


def detect(content: bytes) -> DetectedType:
    """The file's type as its first bytes prove it; unknown content is `UNKNOWN` (.bin)."""
    kind = filetype.guess(content[:SIGNATURE_BYTES])
    if kind is None:
        return UNKNOWN
    return DetectedType(mime=kind.mime, extension=kind.extension, inline=kind.mime in INLINE_TYPES)
