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
# The sandbox's Messenger customers: Page-scoped ids (PSIDs), another id space than Instagram's.
MESSENGER_CUSTOMERS = [
    {"psid": "6100000000000001", "first_name": "Tom", "last_name": "Becker"},
    {"psid": "6100000000000002", "first_name": "Lina", "last_name": "Haddad"},
    {"psid": "6100000000000003", "first_name": "Priya", "last_name": "Shah"},
]
# What Embedded Signup offers: the business's WhatsApp Business Accounts and their numbers.
WABAS = [
    {
        "waba_id": "102290129340398",
        "name": "Acme Shoes",
        "numbers": [
            {
                "id": "106540352242922",
                "display_phone_number": "+1 555-078-3881",
                "verified_name": "Acme Shoes",
                "quality_rating": "GREEN",
                "messaging_limit_tier": "TIER_1K",
            },
            {
                "id": "106540352242923",
                "display_phone_number": "+1 555-078-3882",
                "verified_name": "Acme Outlet",
                "quality_rating": "YELLOW",
                "messaging_limit_tier": "TIER_250",
            },
        ],
    },
]
WHATSAPP_CUSTOMERS = [
    {"wa_id": "16505551234", "name": "Sheena Nelson"},
    {"wa_id": "4915112345678", "name": "Lukas Weber"},
    {"wa_id": "5511987654321", "name": "Ana Souza"},
]
# The WABA's message templates as WhatsApp Manager lists them: two approved, one still in review.
TEMPLATES = [
    {
        "id": "1250000000000001",
        "name": "order_update",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order {{2}} has shipped.",
                "example": {"body_text": [["Ana", "#1042"]]},
            }
        ],
    },
    {
        "id": "1250000000000002",
        "name": "follow_up",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "Hello! We have an answer to your question. Reply to this message to continue.",
            },
            {"type": "FOOTER", "text": "Acme Shoes customer care"},
        ],
    },
    {
        "id": "1250000000000003",
        "name": "spring_sale",
        "language": "en_US",
        "status": "PENDING",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [{"type": "BODY", "text": "Spring sale: 20% off everything this week."}],
    },
]
# The permissions the sandbox user can grant: the ones the app asks for, for every product.
SCOPES = list(dict.fromkeys([*oauth.SCOPES, *oauth.MESSENGER_SCOPES, *oauth.WHATSAPP_SCOPES]))


def base_url() -> str:
    """Where this installation is reachable (the sandbox posts webhooks here)."""
    return settings.SITE_URL or "http://127.0.0.1:8000"


def page(page_id):
    return next((p for p in PAGES if p["page_id"] == page_id), None)


def page_by_ig(ig_id):
    return next((p for p in PAGES if p["ig_id"] == ig_id), None)


def customer(igsid):
    return next((c for c in CUSTOMERS if c["igsid"] == igsid), None)


def messenger_customer(psid):
    return next((c for c in MESSENGER_CUSTOMERS if c["psid"] == psid), None)


def messenger_name(person) -> str:
    return f"{person['first_name']} {person['last_name']}"


def waba(waba_id):
    return next((w for w in WABAS if w["waba_id"] == waba_id), None)


def whatsapp_number(phone_number_id):
    """The number and its WABA id, or None."""
    for account in WABAS:
        for number in account["numbers"]:
            if number["id"] == phone_number_id:
                return {**number, "waba_id": account["waba_id"]}
    return None


def whatsapp_customer(wa_id):
    return next((c for c in WHATSAPP_CUSTOMERS if c["wa_id"] == wa_id), None)


def system_user_token(waba_id: str) -> str:
    """The system-user token the sandbox's Business Manager issued for a WABA (Settings › WhatsApp's manual form)."""
    signature = salted_hmac("sandbox.system_user_token", waba_id, algorithm="sha256").hexdigest()[:32]
    return f"sandbox-system-user-{waba_id}-{signature}"


def page_token(page_id: str) -> str:
    """The Page access token the sandbox issues: signed with SECRET_KEY, so it can't be guessed from the Page id."""
    signature = salted_hmac("sandbox.page_token", page_id, algorithm="sha256").hexdigest()[:32]
    return f"sandbox-page-token-{page_id}-{signature}"


def media_url(name: str) -> str:
    return f"{base_url()}/sandbox/meta/media/{name}.png"
