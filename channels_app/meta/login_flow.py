"""Facebook Login for the Settings add flows (Instagram, Messenger, WhatsApp): state, redirect URI,
and the Pages kept encrypted in the session between the callback and the confirmation."""

import json
import secrets
from dataclasses import asdict

from django.conf import settings
from django.core import signing
from django.urls import reverse

from channels_app.fields import _fernet

from . import oauth

STATE_SALT = "channels_app.instagram.oauth"
STATE_MAX_AGE = 600
SESSION_NONCE = "instagram_oauth_nonce"
SESSION_PAGES = "instagram_oauth_pages"


class OAuthProblem(Exception):
    def __init__(self, title, explanation, status=400):
        super().__init__(title)
        self.title, self.explanation, self.status = title, explanation, status


def redirect_uri(request, callback: str = "admin:meta_instagramaccount_callback") -> str:
    path_ = reverse(callback)
    return f"{settings.SITE_URL}{path_}" if settings.SITE_URL else request.build_absolute_uri(path_)


def make_state(request, product: str = "") -> str:
    """A signed state bound to this admin's session; single-use and valid 10 minutes.

    `product` keeps the flows of Instagram, Messenger and WhatsApp apart (each its own nonce and salt)."""
    nonce = secrets.token_urlsafe(24)
    request.session[SESSION_NONCE + product] = nonce
    return signing.dumps({"nonce": nonce, "user": request.user.pk}, salt=STATE_SALT + product)


def check_state(request, state: str, product: str = "") -> None:
    expected = request.session.pop(SESSION_NONCE + product, None)
    try:
        data = signing.loads(state or "", salt=STATE_SALT + product, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired:
        raise OAuthProblem(
            "The sign-in took too long", "Facebook Login must be finished within 10 minutes. Start again.", 403
        ) from None
    except signing.BadSignature:
        raise OAuthProblem(
            "This sign-in could not be verified",
            "The answer from Facebook did not carry the state we sent. Start again from Settings.",
            403,
        ) from None
    if not expected or data.get("nonce") != expected or data.get("user") != request.user.pk:
        raise OAuthProblem(
            "This sign-in was already used or belongs to another session",
            "Each Facebook Login can be completed once, in the browser that started it. Start again.",
            403,
        )


def _store_pages(request, pages, product: str = ""):
    # Page tokens stay on the server, encrypted, between the choice and the confirmation.
    payload = json.dumps([asdict(page) for page in pages]).encode()
    request.session[SESSION_PAGES + product] = _fernet().encrypt(payload).decode()


def _load_pages(request, product: str = "", choice=oauth.PageChoice) -> list:
    stored = request.session.get(SESSION_PAGES + product)
    if not stored:
        return []
    return [choice(**row) for row in json.loads(_fernet().decrypt(stored.encode()))]
