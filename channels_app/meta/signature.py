"""Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`."""

import hashlib
import hmac

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value Meta would send for this body."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_is_valid(body: bytes, header: str | None, secret: str) -> bool:
    """Constant-time check of the header against the raw body."""
    if not header or not secret or not header.startswith(PREFIX):
        return False
    return hmac.compare_digest(sign(body, secret), header.strip())
