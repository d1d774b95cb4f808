import json
from unittest import mock
from urllib.parse import parse_qs, urlparse

import pytest

from channels_app.meta.signature import signature_is_valid
from sandbox import demo_data
from sandbox.models import SandboxCode, SandboxPage, SandboxSend, SandboxToken
from tests.factories import make_admin, make_entry_point, make_instagram_account

GRAPH = "/sandbox/meta/graph/v23.0"
DIALOG = "/sandbox/meta/dialog/v23.0/dialog/oauth"
SHOES_TOKEN = demo_data.page_token("100000000000001")


def dialog_params(**extra):
    return {
        "client_id": "test-app-id",
        "redirect_uri": "http://testserver/callback/",
        "state": "the-state",
        "response_type": "code",
        "scope": ",".join(demo_data.SCOPES),
        **extra,
    }


def test_the_dialog_walks_login_accounts_pages_permissions_then_redirects_with_code_and_state(client, db):
    assert b"Continue as Demo Admin" in client.get(DIALOG, dialog_params()).content
    steps = ["login", "accounts", "pages"]
    for step in steps:
        response = client.post(DIALOG, dialog_params(step=step, ig=["17841400000000002"]))
        assert response.status_code == 200

    done = client.post(
        DIALOG,
        {
            **dialog_params(step="permissions", ig=["17841400000000002"]),
            "scope": ["instagram_basic", "instagram_manage_messages"],
        },
    )

    location = urlparse(done["Location"])
    query = parse_qs(location.query)
    assert location.path == "/callback/"
    assert query["state"] == ["the-state"]
    code = SandboxCode.objects.get(code=query["code"][0])
    assert code.scopes == ["instagram_basic", "instagram_manage_messages"]
    assert "100000000000002" in code.page_ids and "100000000000001" not in code.page_ids


def test_cancel_redirects_with_metas_error(client, db):
    response = client.post(DIALOG, dialog_params(step="accounts", cancel="1"))

    query = parse_qs(urlparse(response["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["error_reason"] == ["user_denied"]
    assert query["state"] == ["the-state"]


def test_a_foreign_redirect_uri_gets_cant_load_url(client, db):
    response = client.get(DIALOG, dialog_params(redirect_uri="https://evil.example/cb"))

    assert response.status_code == 400
    assert b"Can't Load URL" in response.content


def test_code_exchange_is_single_use_and_tokens_list_the_chosen_pages(client, db):
    SandboxCode.objects.create(code="c1", scopes=demo_data.SCOPES, page_ids=["100000000000002"])
    params = {"client_id": "test-app-id", "client_secret": "test-app-secret", "redirect_uri": "x", "code": "c1"}

    short = client.get(f"{GRAPH}/oauth/access_token", params).json()["access_token"]
    again = client.get(f"{GRAPH}/oauth/access_token", params)
    long = client.get(f"{GRAPH}/oauth/access_token", {"grant_type": "fb_exchange_token", "fb_exchange_token": short})
    accounts = client.get(f"{GRAPH}/me/accounts", {"access_token": long.json()["access_token"]}).json()

    assert again.status_code == 400 and again.json()["error"]["code"] == 100
    assert [page["id"] for page in accounts["data"]] == ["100000000000002"]
    assert accounts["data"][0]["instagram_business_account"]["username"] == "acmeoutlet"


def test_permissions_report_declined_scopes(client, db):
    SandboxToken.objects.create(token="t", scopes=["instagram_basic"], page_ids=[])

    data = client.get(f"{GRAPH}/me/permissions", {"access_token": "t"}).json()["data"]

    assert {"permission": "instagram_basic", "status": "granted"} in data
    assert {"permission": "instagram_manage_messages", "status": "declined"} in data


def test_the_send_api_answers_like_meta_and_posts_echo_and_read(client, db, django_capture_on_commit_callbacks):
    with mock.patch("sandbox.graph.post_webhook.apply_async") as post:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"{GRAPH}/100000000000001/messages?access_token={SHOES_TOKEN}",
                data=json.dumps(
                    {
                        "recipient": {"id": "5100000000000001"},
                        "message": {"text": "Hello"},
                        "messaging_type": "RESPONSE",
                    }
                ),
                content_type="application/json",
            )

    answer = response.json()
    assert answer["recipient_id"] == "5100000000000001" and answer["message_id"]
    assert SandboxSend.objects.get().text == "Hello"
    echo = json.loads(post.call_args_list[0].kwargs["args"][0])
    message = echo["entry"][0]["messaging"][0]["message"]
    assert message == {"mid": answer["message_id"], "is_echo": True, "text": "Hello"}
    read = json.loads(post.call_args_list[1].kwargs["args"][0])
    assert read["entry"][0]["messaging"][0]["read"] == {"mid": answer["message_id"]}


@pytest.mark.parametrize(
    ("failure", "code"), [("rate_limit", 4), ("window", 10), ("unavailable", 551), ("token", 190), ("server", 2)]
)
def test_send_api_failure_modes_answer_with_metas_errors(client, db, failure, code):
    SandboxPage.objects.create(page_id="100000000000001", failure=failure)

    response = client.post(
        f"{GRAPH}/100000000000001/messages?access_token={SHOES_TOKEN}",
        data=json.dumps({"recipient": {"id": "5100000000000001"}, "message": {"text": "Hello"}}),
        content_type="application/json",
    )

    assert response.json()["error"]["code"] == code
    assert not SandboxSend.objects.exists()


def test_an_expired_page_token_is_refused_with_190(client, db):
    SandboxPage.objects.create(page_id="100000000000001", token_expired=True)

    response = client.post(f"{GRAPH}/100000000000001/subscribed_apps?access_token={SHOES_TOKEN}")

    assert response.json()["error"]["code"] == 190


def test_profiles_and_pictures(client, db):
    profile = client.get(
        f"{GRAPH}/5100000000000001", {"fields": "name,username,profile_pic", "access_token": SHOES_TOKEN}
    ).json()
    picture = client.get(urlparse(profile["profile_pic"]).path)

    assert (profile["name"], profile["username"]) == ("Maya Lopez", "maya.lopez")
    assert picture["Content-Type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG")


def test_the_simulator_posts_a_signed_meta_shaped_webhook(client, db):
    client.force_login(make_admin())  # agents play only their inboxes' accounts (tests/security)
    make_instagram_account(make_entry_point(external_id="17841400000000002"), page_id="100000000000002")

    with mock.patch("sandbox.webhooks.requests.post") as post:
        post.return_value.status_code = 200
        response = client.post(
            "/sandbox/meta/customer/act/?account=17841400000000002&customer=5100000000000001",
            {"action": "text", "text": "Hi, where is my order?"},
        )

    assert response.status_code == 302
    url, kwargs = post.call_args.args[0], post.call_args.kwargs
    assert url == "http://testserver/webhooks/meta/"
    assert signature_is_valid(kwargs["data"], kwargs["headers"]["X-Hub-Signature-256"], "test-app-secret")
    body = json.loads(kwargs["data"])
    assert body["object"] == "instagram" and body["entry"][0]["id"] == "17841400000000002"
    event = body["entry"][0]["messaging"][0]
    assert event["sender"] == {"id": "5100000000000001"} and event["message"]["text"] == "Hi, where is my order?"


def test_the_simulator_needs_a_signed_in_user(client, db):
    assert client.get("/sandbox/meta/customer/").status_code == 302
