"""Settings › Messenger and Settings › WhatsApp: add through Facebook Login (Embedded Signup), by hand, remove."""

from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.urls import reverse

from channels_app.meta.models import MessengerPage, WhatsAppNumber, WhatsAppTemplate
from channels_app.meta.oauth import MESSENGER_SCOPES, WHATSAPP_SCOPES
from tests.channels_app.test_instagram_settings import PAGES
from tests.factories import make_messenger_page, make_user, make_whatsapp_number

GRAPH = "https://graph.facebook.com/v23.0"
WABA = "102290129340398"
NUMBER_ID = "106540352242922"
NUMBERS = {
    "data": [
        {
            "id": NUMBER_ID,
            "display_phone_number": "+1 555-078-3881",
            "verified_name": "Acme Shoes",
            "quality_rating": "GREEN",
            "messaging_limit_tier": "TIER_1K",
        }
    ]
}
TEMPLATES = {
    "data": [
        {
            "id": "9001",
            "name": "order_update",
            "language": "en_US",
            "status": "APPROVED",
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."}],
        },
        {"id": "9002", "name": "draft", "language": "en_US", "status": "PENDING", "category": "MARKETING"},
    ]
}


def start(client, name, **expected):
    response = client.get(reverse(f"admin:meta_{name}_start"))
    assert response.status_code == 302
    query = parse_qs(urlparse(response["Location"]).query)
    for key, value in expected.items():
        assert query[key] == [value]
    return query


@responses.activate
def test_admin_adds_a_messenger_page_through_facebook_login(admin_client, admin_user):
    responses.get(f"{GRAPH}/oauth/access_token", json={"access_token": "USER-TOKEN"})
    responses.get(
        f"{GRAPH}/me/permissions", json={"data": [{"permission": p, "status": "granted"} for p in MESSENGER_SCOPES]}
    )
    responses.get(f"{GRAPH}/me/accounts", json=PAGES)
    responses.post(f"{GRAPH}/100000000000003/subscribed_apps", json={"success": True})

    query = start(admin_client, "messengerpage", scope=",".join(MESSENGER_SCOPES))
    choose = admin_client.get(
        reverse("admin:meta_messengerpage_callback"), {"state": query["state"][0], "code": "the-code"}
    )
    assert "Acme Blog" in choose.content.decode() and "PAGE-TOKEN" not in choose.content.decode()
    admin_client.post(reverse("admin:meta_messengerpage_confirm"), {"choice": ["100000000000003"]})

    page = MessengerPage.objects.get()
    assert (page.page_name, page.page_id, page.added_by) == ("Acme Blog", "100000000000003", admin_user)
    assert page.page_access_token == "PAGE-TOKEN-BLOG"
    assert page.entry_point.kind == "messenger" and page.entry_point.external_id == "100000000000003"
    subscribe = [c.request.url for c in responses.calls if "subscribed_apps" in c.request.url][0]
    assert "messaging_referrals" in subscribe and "message_echoes" in subscribe
    listing = admin_client.get(reverse("admin:meta_messengerpage_changelist")).content.decode()
    for text in ("Page Name", "Page ID", "Added By", "Added On", "Acme Blog", "Add Messenger", "of 300"):
        assert text in listing


@responses.activate
def test_removing_a_messenger_page_unsubscribes_and_keeps_history(admin_client):
    page = make_messenger_page()
    responses.delete(f"{GRAPH}/{page.page_id}/subscribed_apps", json={"success": True})

    admin_client.post(reverse("admin:meta_messengerpage_remove", args=[page.pk]))

    page.refresh_from_db()
    assert page.status == MessengerPage.Status.REMOVED
    assert not page.entry_point.active


@responses.activate
def test_admin_adds_a_whatsapp_number_through_embedded_signup(admin_client, admin_user, settings):
    settings.META_WHATSAPP_CONFIG_ID = "cfg-123"
    responses.get(f"{GRAPH}/oauth/access_token", json={"access_token": "BUSINESS-TOKEN"})
    responses.get(
        f"{GRAPH}/debug_token",
        json={"data": {"granular_scopes": [{"scope": "whatsapp_business_management", "target_ids": [WABA]}]}},
    )
    responses.get(f"{GRAPH}/{WABA}/phone_numbers", json=NUMBERS)
    responses.post(f"{GRAPH}/{WABA}/subscribed_apps", json={"success": True})
    responses.get(f"{GRAPH}/{WABA}/message_templates", json=TEMPLATES)

    query = start(admin_client, "whatsappnumber", config_id="cfg-123", scope=",".join(WHATSAPP_SCOPES))
    choose = admin_client.get(
        reverse("admin:meta_whatsappnumber_callback"), {"state": query["state"][0], "code": "the-code"}
    )
    assert "+1 555-078-3881" in choose.content.decode() and "BUSINESS-TOKEN" not in choose.content.decode()
    admin_client.post(reverse("admin:meta_whatsappnumber_confirm"), {"choice": [NUMBER_ID]})

    number = WhatsAppNumber.objects.get()
    assert (number.phone_number_id, number.waba_id, number.quality_rating, number.messaging_limit_tier) == (
        NUMBER_ID,
        WABA,
        "GREEN",
        "TIER_1K",
    )
    assert number.access_token == "BUSINESS-TOKEN" and number.added_by == admin_user
    assert number.entry_point.kind == "whatsapp" and number.entry_point.external_id == NUMBER_ID
    assert list(WhatsAppTemplate.objects.values_list("name", flat=True)) == ["order_update"]
    listing = admin_client.get(reverse("admin:meta_whatsappnumber_changelist")).content.decode()
    for text in (
        "Phone number ID",
        "WABA ID",
        "Quality rating",
        "Messaging limit tier",
        "Verified name",
        "Add WhatsApp",
    ):
        assert text in listing


@responses.activate
def test_the_manual_form_validates_with_meta_before_saving(admin_client):
    responses.get(f"{GRAPH}/{WABA}/phone_numbers", json=NUMBERS)
    responses.post(f"{GRAPH}/{WABA}/subscribed_apps", json={"success": True})
    responses.get(f"{GRAPH}/{WABA}/message_templates", json=TEMPLATES)
    url = reverse("admin:meta_whatsappnumber_manual")

    wrong = admin_client.post(url, {"waba_id": WABA, "phone_number_id": "999999", "token": "SYSTEM-TOKEN"})
    assert "has no phone number with this ID" in wrong.content.decode()
    assert not WhatsAppNumber.objects.exists()

    admin_client.post(url, {"waba_id": WABA, "phone_number_id": NUMBER_ID, "token": "SYSTEM-TOKEN"})

    number = WhatsAppNumber.objects.get()
    assert number.access_token == "SYSTEM-TOKEN" and number.status == WhatsAppNumber.Status.CONNECTED
    subscribe = [c for c in responses.calls if "subscribed_apps" in c.request.url]
    assert subscribe and subscribe[0].request.method == "POST"


@responses.activate
def test_a_refused_token_is_shown_and_nothing_saved(admin_client):
    responses.get(
        f"{GRAPH}/{WABA}/phone_numbers",
        json={"error": {"message": "Invalid OAuth access token", "code": 190}},
        status=400,
    )

    page = admin_client.post(
        reverse("admin:meta_whatsappnumber_manual"), {"waba_id": WABA, "phone_number_id": NUMBER_ID, "token": "x"}
    )

    assert "Meta refused these details" in page.content.decode()
    assert not WhatsAppNumber.objects.exists()


@responses.activate
def test_sync_templates_action_keeps_only_approved_ones(admin_client):
    number = make_whatsapp_number()
    WhatsAppTemplate.objects.create(waba_id=WABA, name="gone", language="en_US")
    responses.get(f"{GRAPH}/{WABA}/message_templates", json=TEMPLATES)

    admin_client.post(
        reverse("admin:meta_whatsappnumber_changelist"),
        {"action": "sync_templates_action", "_selected_action": [number.pk]},
    )

    template = WhatsAppTemplate.objects.get()
    assert template.name == "order_update"
    assert [v["name"] for v in template.variables] == ["1", "2"]


@pytest.mark.parametrize("name", ["messengerpage", "whatsappnumber"])
def test_agents_cannot_open_these_settings(client, db, name):
    client.force_login(make_user())
    assert client.get(reverse(f"admin:meta_{name}_changelist")).status_code in (302, 403)
