"""The sandbox plays Messenger and WhatsApp: the dialog per product, Embedded Signup, the Graph answers,
the simulator's signed deliveries, and what the app makes of them."""

import hashlib
import json
from unittest import mock
from urllib.parse import parse_qs, urlparse

import pytest

from channels_app.meta import oauth, processing, whatsapp_graph
from channels_app.meta.models import WebhookEvent
from channels_app.meta.signature import signature_is_valid
from conversations.models import Conversation, TimelineItem
from sandbox import demo_data
from sandbox.models import SandboxCode, SandboxSend, SandboxToken, SandboxWhatsAppNumber
from tests.factories import make_admin, make_inbox, make_messenger_page, make_whatsapp_number

GRAPH = "/sandbox/meta/graph/v23.0"
DIALOG = "/sandbox/meta/dialog/v23.0/dialog/oauth"
WABA = "102290129340398"
NUMBER = "106540352242922"
SHOES_PAGE_TOKEN = demo_data.page_token("100000000000001")


def params(scopes, **extra):
    return {
        "client_id": "test-app-id",
        "redirect_uri": "http://testserver/callback/",
        "state": "the-state",
        "response_type": "code",
        "scope": ",".join(scopes),
        **extra,
    }


def walk(client, steps, base, **choices):
    for step in steps:
        assert client.post(DIALOG, {**base, "step": step, **choices}).status_code == 200
    done = client.post(DIALOG, {**base, "step": "permissions", **choices, "scope": base["scope"].split(",")})
    query = parse_qs(urlparse(done["Location"]).query)
    assert query["state"] == ["the-state"]
    return SandboxCode.objects.get(code=query["code"][0])


def test_messenger_login_asks_for_pages_and_grants_messengers_permissions(client, db):
    base = params(oauth.MESSENGER_SCOPES)
    assert b"Messenger" in client.get(DIALOG, base).content

    code = walk(client, ["login", "pages"], base, page=["100000000000003"])

    assert code.page_ids == ["100000000000003"]
    assert set(oauth.MESSENGER_SCOPES) <= set(code.scopes)


def test_embedded_signup_shares_the_waba_and_debug_token_names_it(client, db):
    base = params(oauth.WHATSAPP_SCOPES, config_id="sandbox-whatsapp-config", override_default_response_type="true")
    assert b"Connect your WhatsApp Business Account" in client.get(DIALOG, base).content

    code = walk(client, ["login", "business"], base, waba=[WABA])
    token = client.get(
        f"{GRAPH}/oauth/access_token",
        {"client_id": "test-app-id", "client_secret": "test-app-secret", "redirect_uri": "x", "code": code.code},
    ).json()["access_token"]
    debug = client.get(f"{GRAPH}/debug_token", {"input_token": token, "access_token": "test-app-id|test-app-secret"})

    scopes = {s["scope"]: s["target_ids"] for s in debug.json()["data"]["granular_scopes"]}
    assert scopes["whatsapp_business_management"] == [WABA]
    assert scopes["whatsapp_business_messaging"] == [WABA]


def test_debug_token_wants_the_app_token(client, db):
    SandboxToken.objects.create(token="t", scopes=list(oauth.WHATSAPP_SCOPES), waba_ids=[WABA])

    response = client.get(f"{GRAPH}/debug_token", {"input_token": "t", "access_token": "t"})

    assert response.json()["error"]["code"] == 190


def test_numbers_templates_and_subscription_of_a_shared_waba(client, db):
    SandboxToken.objects.create(token="t", scopes=list(oauth.WHATSAPP_SCOPES), waba_ids=[WABA])

    numbers = client.get(f"{GRAPH}/{WABA}/phone_numbers", {"access_token": "t"}).json()["data"]
    templates = client.get(f"{GRAPH}/{WABA}/message_templates", {"access_token": "t"}).json()["data"]
    subscribed = client.post(f"{GRAPH}/{WABA}/subscribed_apps?access_token=t").json()
    foreign = client.get(f"{GRAPH}/{WABA}/phone_numbers", {"access_token": "other"})

    assert numbers[0] | {} == {
        "id": NUMBER,
        "display_phone_number": "+1 555-078-3881",
        "verified_name": "Acme Shoes",
        "quality_rating": "GREEN",
        "messaging_limit_tier": "TIER_1K",
        "code_verification_status": "VERIFIED",
        "throughput": {"level": "STANDARD"},
    }
    assert [t["name"] for t in templates if t["status"] == "APPROVED"] == ["order_update", "follow_up"]
    assert subscribed == {"success": True}
    assert foreign.json()["error"]["code"] == 190


def test_the_apps_graph_client_reads_the_sandbox_like_meta(client, db):
    """The app's own parsing of the sandbox's answers (the shapes agree)."""
    SandboxToken.objects.create(token="t", scopes=list(oauth.WHATSAPP_SCOPES), waba_ids=[WABA])
    with mock.patch("channels_app.meta.graph.requests.Session.request", side_effect=_through(client)):
        numbers = whatsapp_graph.phone_numbers("t", WABA)
        templates = whatsapp_graph.list_templates("t", WABA)

    assert (numbers[0].quality_rating, numbers[0].messaging_limit_tier, numbers[0].throughput) == (
        "GREEN",
        "TIER_1K",
        "STANDARD",
    )
    order_update = next(t for t in templates if t.name == "order_update")
    assert [(v.name, v.example) for v in order_update.variables] == [("1", "Ana"), ("2", "#1042")]


def _through(client):
    """requests.Session.request answered by the Django test client (the sandbox's Graph at graph.facebook.com)."""

    def request(method, url, params=None, **kwargs):
        path = urlparse(url).path.replace("/v23.0/", f"{GRAPH}/", 1)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if method == "GET":
            response = client.get(path, query)
        else:
            path = f"{path}?{'&'.join(f'{k}={v}' for k, v in query.items())}"
            response = client.generic(
                method, path, data=json.dumps(kwargs.get("json") or {}), content_type="application/json"
            )
        answer = mock.Mock(status_code=response.status_code)
        answer.json.return_value = response.json()
        return answer

    return request


def send(client, body, token="t"):
    return client.post(
        f"{GRAPH}/{NUMBER}/messages?access_token={token}",
        data=json.dumps({"messaging_product": "whatsapp", "recipient_type": "individual", **body}),
        content_type="application/json",
    )


def test_a_whatsapp_send_is_recorded_and_reported_sent_delivered_read(client, db, django_capture_on_commit_callbacks):
    SandboxToken.objects.create(token="t", scopes=list(oauth.WHATSAPP_SCOPES), waba_ids=[WABA])
    with mock.patch("sandbox.whatsapp_graph.post_webhook.apply_async") as post:
        with django_capture_on_commit_callbacks(execute=True):
            response = send(client, {"to": "16505551234", "type": "text", "text": {"body": "Hello"}})

    wamid = response.json()["messages"][0]["id"]
    assert SandboxSend.objects.get(message_id=wamid).text == "Hello"
    statuses = [json.loads(call.kwargs["args"][0]) for call in post.call_args_list]
    values = [s["entry"][0]["changes"][0]["value"] for s in statuses]
    assert [v["statuses"][0]["status"] for v in values] == ["sent", "delivered", "read"]
    assert {v["metadata"]["phone_number_id"] for v in values} == {NUMBER}
    assert statuses[0]["object"] == "whatsapp_business_account" and statuses[0]["entry"][0]["id"] == WABA


def test_a_template_send_shows_the_filled_in_text(client, db):
    SandboxToken.objects.create(token="t", scopes=list(oauth.WHATSAPP_SCOPES), waba_ids=[WABA])
    template = {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Sheena"}, {"type": "text", "text": "#7"}]}
        ],
    }

    response = send(client, {"to": "16505551234", "type": "template", "template": template})

    assert response.json()["messages"][0]["message_status"] == "accepted"
    assert SandboxSend.objects.get().text == "Hi Sheena, your order #7 has shipped."


@pytest.mark.parametrize(("failure", "kind", "code"), [("131047", "text", 131047), ("131026", "text", 131026)])
def test_failures_arrive_as_failed_statuses_with_metas_error(
    client, db, django_capture_on_commit_callbacks, failure, kind, code
):
    SandboxToken.objects.create(token="t", scopes=list(oauth.WHATSAPP_SCOPES), waba_ids=[WABA])
    SandboxWhatsAppNumber.objects.create(phone_number_id=NUMBER, failure=failure)
    with mock.patch("sandbox.whatsapp_graph.post_webhook.apply_async") as post:
        with django_capture_on_commit_callbacks(execute=True):
            send(client, {"to": "16505551234", "type": "text", "text": {"body": "Hello"}})

    last = json.loads(post.call_args_list[-1].kwargs["args"][0])["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert last["status"] == "failed" and last["errors"][0]["code"] == code


def test_a_template_reengages_when_texts_need_it(client, db, django_capture_on_commit_callbacks):
    SandboxToken.objects.create(token="t", scopes=list(oauth.WHATSAPP_SCOPES), waba_ids=[WABA])
    SandboxWhatsAppNumber.objects.create(phone_number_id=NUMBER, failure="131047")
    with mock.patch("sandbox.whatsapp_graph.post_webhook.apply_async") as post:
        with django_capture_on_commit_callbacks(execute=True):
            send(client, {"to": "16505551234", "type": "template", "template": {"name": "follow_up"}})

    statuses = [
        json.loads(c.kwargs["args"][0])["entry"][0]["changes"][0]["value"]["statuses"][0] for c in post.call_args_list
    ]
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]


def test_media_url_and_download_need_the_token(client, db):
    SandboxToken.objects.create(token="t", scopes=list(oauth.WHATSAPP_SCOPES), waba_ids=[WABA])
    media_id = "8800000000000042"

    info = client.get(f"{GRAPH}/{media_id}", {"access_token": "t"}).json()
    url = urlparse(info["url"])
    without = client.get(f"{url.path}?{url.query}")
    content = client.get(f"{url.path}?{url.query}", headers={"Authorization": "Bearer t"}).content

    assert without.status_code == 401
    assert hashlib.sha256(content).hexdigest() == info["sha256"]
    assert content.startswith(b"\x89PNG")


def test_a_system_user_token_reaches_its_waba(client, db):
    token = demo_data.system_user_token(WABA)

    numbers = client.get(f"{GRAPH}/{WABA}/phone_numbers", {"access_token": token}).json()["data"]

    assert [n["id"] for n in numbers] == [NUMBER, "106540352242923"]


def test_messenger_profiles_by_psid(client, db):
    profile = client.get(f"{GRAPH}/6100000000000001", {"access_token": SHOES_PAGE_TOKEN}).json()

    assert (profile["first_name"], profile["last_name"]) == ("Tom", "Becker")


def test_a_messenger_send_posts_echo_delivery_and_read(client, db, django_capture_on_commit_callbacks):
    with mock.patch("sandbox.graph.post_webhook.apply_async") as post:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"{GRAPH}/100000000000001/messages?access_token={SHOES_PAGE_TOKEN}",
                data=json.dumps({"recipient": {"id": "6100000000000001"}, "message": {"text": "Hi Tom"}}),
                content_type="application/json",
            )

    mid = response.json()["message_id"]
    bodies = [json.loads(call.kwargs["args"][0]) for call in post.call_args_list]
    assert {b["object"] for b in bodies} == {"page"}
    events = [b["entry"][0]["messaging"][0] for b in bodies]
    assert events[0]["message"]["is_echo"] and events[0]["message"]["mid"] == mid
    assert str(events[0]["message"]["app_id"]) == "test-app-id"
    assert events[1]["delivery"]["mids"] == [mid]
    assert "watermark" in events[2]["read"]


def deliver(body: str):
    """What the app makes of a delivery the simulator posted."""
    event = WebhookEvent.objects.create(object=json.loads(body)["object"], body=body)
    return processing.process_webhook_event(event.pk)


def test_the_messenger_customer_reaches_the_pages_inbox(client, db):
    client.force_login(make_admin())
    inbox = make_inbox("Messaging", default=True)
    make_messenger_page(page_id="100000000000002", page_name="Acme Outlet")

    with mock.patch("sandbox.webhooks.requests.post") as post:
        post.return_value.status_code = 200
        client.post(
            "/sandbox/meta/customer/messenger/act/?page=100000000000002&customer=6100000000000002",
            {"action": "text", "text": "Is the outlet open on Sunday?"},
        )

    kwargs = post.call_args.kwargs
    assert signature_is_valid(kwargs["data"], kwargs["headers"]["X-Hub-Signature-256"], "test-app-secret")
    assert deliver(kwargs["data"].decode()) == "processed"
    conversation = Conversation.objects.get()
    assert conversation.inbox == inbox
    assert conversation.customer.identities.get().external_id == "6100000000000002"
    assert TimelineItem.objects.get(conversation=conversation).text == "Is the outlet open on Sunday?"


def test_the_whatsapp_customer_writes_and_sends_a_photo(client, db):
    client.force_login(make_admin())
    make_inbox("Messaging", default=True)
    make_whatsapp_number(token=demo_data.system_user_token(WABA), verified_name="Acme Shoes")

    with mock.patch("sandbox.webhooks.requests.post") as post:
        post.return_value.status_code = 200
        for action in ({"action": "text", "text": "Hola!"}, {"action": "image"}):
            client.post(f"/sandbox/meta/customer/whatsapp/act/?number={NUMBER}&customer=5511987654321", action)
            assert deliver(post.call_args.kwargs["data"].decode()) == "processed"

    conversation = Conversation.objects.get()
    assert conversation.customer.name == "Ana Souza"
    items = list(TimelineItem.objects.filter(conversation=conversation).order_by("pk"))
    assert items[0].text == "Hola!"
    assert (
        items[1]
        .attachments.get()
        .original_url.endswith(
            json.loads(post.call_args.kwargs["data"])["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["id"]
        )
    )
    page = client.get(f"/sandbox/meta/customer/whatsapp/?number={NUMBER}&customer=5511987654321")
    assert b"Hola!" in page.content and b"/sandbox/meta/media/wa-880" in page.content


def test_the_tabs_explain_what_to_add_first(client, db):
    client.force_login(make_admin())

    messenger = client.get("/sandbox/meta/customer/messenger/").content.decode()
    whatsapp = client.get("/sandbox/meta/customer/whatsapp/").content.decode()

    assert "Add one in Settings › Messenger" in messenger
    assert "Add one in Settings › WhatsApp" in whatsapp and demo_data.system_user_token(WABA) in whatsapp
