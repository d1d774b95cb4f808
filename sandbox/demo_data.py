"""The sandbox's pretend Meta world: one Facebook user, their Pages and some customers."""

from django.conf import settings
from django.utils.crypto import salted_hmac

from channels_app.meta import oauth

DEMO_USER_NAME = "Demo Admin"
PAGES = [
    {"page_id": "100000000000001", "name": "Acme Shoes", "ig_id": "17841400000000001", "username": "acmeshoes"},
    {"page_id": "100000000000002", "name": "Acme Outlet", "ig_id": "17841400000000002", "username": "acmeoutlet"},
    # A Page without a linked Instagram account: not eligible.
    {"page_id": "100000000000003", "name": "Acme Blog", "ig_id": "", "username": ""},
]
CUSTOMERS = [
    {"igsid": "5100000000000001", "name": "Maya Lopez", "username": "maya.lopez"},
    {"igsid": "5100000000000002", "name": "Jonas Berg", "username": "jonas.berg"},
    {"igsid": "5100000000000003", "name": "Aiko Tanaka", "username": "aiko.t"},
    {"igsid": "5100000000000004", "name": "Sam Okafor", "username": "samokafor"},
]
# Who the simulator's Email tab writes as, unless changed in the form.
EMAIL_CUSTOMER = {"name": "Sam Okafor", "address": "sam.okafor@example.com"}
# The permissions the sandbox user can grant: the ones the app asks for.
SCOPES = list(oauth.SCOPES)


def base_url() -> str:
    """Where this installation is reachable (the sandbox posts webhooks here)."""
    return settings.SITE_URL or "http://127.0.0.1:8000"


def page(page_id):
    return next((p for p in PAGES if p["page_id"] == page_id), None)


def page_by_ig(ig_id):
    return next((p for p in PAGES if p["ig_id"] == ig_id), None)


def customer(igsid):
    return next((c for c in CUSTOMERS if c["igsid"] == igsid), None)


def page_token(page_id: str) -> str:
    """The Page access token the sandbox issues: signed with SECRET_KEY, so it can't be guessed from the Page id."""
    signature = salted_hmac("sandbox.page_token", page_id, algorithm="sha256").hexdigest()[:32]
    return f"sandbox-page-token-{page_id}-{signature}"


def media_url(name: str) -> str:
    return f"{base_url()}/sandbox/meta/media/{name}.png"
