"""Facebook Login for connecting Instagram Professional accounts (through their Pages).

Only URLs come from settings, so the Meta sandbox and the tests stand in for
Meta without a branch here.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings

from .graph import GraphClient, login_dialog_url

SCOPES = (
    "instagram_basic",
    "instagram_manage_messages",
    "pages_show_list",
    "pages_manage_metadata",
    "pages_read_engagement",
    "business_management",
)
WEBHOOK_FIELDS = "messages,messaging_postbacks,message_reactions,messaging_seen"
# Facebook Messenger for a Page: its own permissions and webhook fields.
MESSENGER_SCOPES = ("pages_messaging", "pages_manage_metadata", "pages_show_list", "business_management")
MESSENGER_WEBHOOK_FIELDS = (
    "messages,messaging_postbacks,message_reactions,message_reads,messaging_referrals,message_echoes,message_deliveries"
)
# WhatsApp through Embedded Signup (Facebook Login for Business with a configuration id).
WHATSAPP_SCOPES = ("whatsapp_business_management", "whatsapp_business_messaging")


@dataclass(frozen=True)
class PageChoice:
    """A Page the user manages, with its linked Instagram Professional account if any."""

    page_id: str
    page_name: str
    page_token: str
    ig_user_id: str = ""
    ig_username: str = ""
    ig_name: str = ""
    ig_picture_url: str = ""

    @property
    def eligible(self):
        return bool(self.ig_user_id)


def dialog_url(redirect_uri: str, state: str, scopes=SCOPES, config_id: str = "") -> str:
    """Facebook Login's dialog; with `config_id`, Facebook Login for Business (WhatsApp Embedded Signup)."""
    query = {
        "client_id": settings.META_APP_ID,
        "redirect_uri": redirect_uri,
        "state": state,
        "response_type": "code",
        "scope": ",".join(scopes),
    }
    if config_id:
        query.update(config_id=config_id, override_default_response_type="true")
    return f"{login_dialog_url()}?{urlencode(query)}"


def exchange_business_code(code: str, redirect_uri: str) -> str:
    """Embedded Signup: the code → the business's token (no long-lived exchange for business tokens)."""
    return GraphClient().get(
        "oauth/access_token",
        client_id=settings.META_APP_ID,
        client_secret=settings.META_APP_SECRET,
        redirect_uri=redirect_uri,
        code=code,
    )["access_token"]


def shared_wabas(token: str) -> list[str]:
    """The WhatsApp Business Accounts the business shared with the app in Embedded Signup.

    Meta lists them as the target ids of the token's whatsapp_business_management scope (debug_token)."""
    app_token = f"{settings.META_APP_ID}|{settings.META_APP_SECRET}"
    data = GraphClient(app_token).get("debug_token", input_token=token).get("data") or {}
    wabas = []
    for scope in data.get("granular_scopes") or []:
        if isinstance(scope, dict) and scope.get("scope") == "whatsapp_business_management":
            wabas += [str(target) for target in scope.get("target_ids") or [] if str(target) not in wabas]
    return wabas


def exchange_code(code: str, redirect_uri: str) -> str:
    """Code → short-lived user token → long-lived user token. Raises GraphError."""
    client = GraphClient()
    short = client.get(
        "oauth/access_token",
        client_id=settings.META_APP_ID,
        client_secret=settings.META_APP_SECRET,
        redirect_uri=redirect_uri,
        code=code,
    )["access_token"]
    return client.get(
        "oauth/access_token",
        grant_type="fb_exchange_token",
        client_id=settings.META_APP_ID,
        client_secret=settings.META_APP_SECRET,
        fb_exchange_token=short,
    )["access_token"]


def missing_permissions(user_token: str, scopes=SCOPES) -> list[str]:
    """The scopes we need that the user did not grant (they may untick some)."""
    granted = {
        row.get("permission")
        for row in GraphClient(user_token).get_all("me/permissions")
        if row.get("status") == "granted"
    }
    return [scope for scope in scopes if scope not in granted]


def list_pages(user_token: str) -> list[PageChoice]:
    rows = GraphClient(user_token).get_all(
        "me/accounts", fields="id,name,access_token,instagram_business_account{id,username,name,profile_picture_url}"
    )
    pages = []
    for row in rows:
        ig = row.get("instagram_business_account") or {}
        pages.append(
            PageChoice(
                page_id=str(row.get("id", "")),
                page_name=str(row.get("name", "")),
                page_token=str(row.get("access_token", "")),
                ig_user_id=str(ig.get("id", "")),
                ig_username=str(ig.get("username", "")),
                ig_name=str(ig.get("name", "")),
                ig_picture_url=str(ig.get("profile_picture_url", "")),
            )
        )
    return pages


def subscribe_page(page_id: str, page_token: str, fields: str = WEBHOOK_FIELDS) -> None:
    """Subscribe the Page to our app's webhooks. Raises GraphError."""
    GraphClient(page_token).post(f"{page_id}/subscribed_apps", params={"subscribed_fields": fields})


def unsubscribe_page(page_id: str, page_token: str) -> None:
    GraphClient(page_token).delete(f"{page_id}/subscribed_apps")
