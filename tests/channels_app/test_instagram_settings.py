from datetime import timedelta
from unittest import mock
from urllib.parse import parse_qs, urlparse

import pytest
import responses
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from channels_app.meta.accounts import mark_needs_reauthorization
from channels_app.meta.models import InstagramAccount
from channels_app.meta.oauth import SCOPES
from channels_app.models import EntryPoint
from conversations.models import OutboundMessage, TimelineItem
from tests.factories import make_conversation, make_customer, make_entry_point, make_instagram_account, make_user

GRAPH = "https://graph.facebook.com/v23.0"
LIST_URL = reverse("admin:meta_instagramaccount_changelist")
START_URL = reverse("admin:meta_instagramaccount_start")
CALLBACK_URL = reverse("admin:meta_instagramaccount_callback")
CONFIRM_URL = reverse("admin:meta_instagramaccount_confirm")
ALL_SCOPES = list(SCOPES)

PAGES = {
    "data": [
        {
            "id": "100000000000001",
            "name": "Acme Shoes",
            "access_token": "PAGE-TOKEN-SHOES",
            "instagram_business_account": {
                "id": "17841400000000001",
                "username": "acmeshoes",
                "name": "Acme Shoes",
                "profile_picture_url": "https://scontent.example/shoes.jpg",
            },
        },
        {
            "id": "100000000000002",
            "name": "Acme Outlet",
            "access_token": "PAGE-TOKEN-OUTLET",
            "instagram_business_account": {"id": "17841400000000002", "username": "acmeoutlet", "name": "Acme Outlet"},
        },
        {"id": "100000000000003", "name": "Acme Blog", "access_token": "PAGE-TOKEN-BLOG"},
    ],
    "paging": {"cursors": {"before": "a", "after": "b"}},
}


def mock_graph(permissions=ALL_SCOPES, pages=PAGES):
    responses.get(
        f"{GRAPH}/oauth/access_token",
        json={"access_token": "SHORT-USER-TOKEN", "token_type": "bearer"},
        match=[responses.matchers.query_param_matcher({"code": "the-code"}, strict_match=False)],
    )
    responses.get(
        f"{GRAPH}/oauth/access_token",
        json={"access_token": "LONG-USER-TOKEN", "expires_in": 5184000},
        match=[responses.matchers.query_param_matcher({"grant_type": "fb_exchange_token"}, strict_match=False)],
    )
    responses.get(
        f"{GRAPH}/me/permissions", json={"data": [{"permission": p, "status": "granted"} for p in permissions]}
    )
    responses.get(f"{GRAPH}/me/accounts", json=pages)
    for page in pages["data"]:
        responses.post(f"{GRAPH}/{page['id']}/subscribed_apps", json={"success": True})


def start(client):
    response = client.get(START_URL)
    assert response.status_code == 302
    dialog = urlparse(response["Location"])
    query = parse_qs(dialog.query)
    assert dialog.netloc == "www.facebook.com" and dialog.path == "/v23.0/dialog/oauth"
    assert query["client_id"] == ["test-app-id"]
    assert query["redirect_uri"] == [f"http://testserver{CALLBACK_URL}"]
    assert set(query["scope"][0].split(",")) == set(ALL_SCOPES)
    return query["state"][0]


def callback(client, state, **params):
    return client.get(CALLBACK_URL, {"state": state, **params})


@responses.activate
def test_admin_adds_two_accounts_through_facebook_login(admin_client, admin_user):
    mock_graph()
    state = start(admin_client)

    choose = callback(admin_client, state, code="the-code")
    assert choose.status_code == 200
    page = choose.content.decode()
    assert "@acmeshoes" in page and "@acmeoutlet" in page
    assert "Acme Blog" in page and "no Instagram Business account" in page
    assert "PAGE-TOKEN" not in page and "LONG-USER-TOKEN" not in page

    done = admin_client.post(CONFIRM_URL, {"page_id": ["100000000000001", "100000000000002"]})

    assert done.status_code == 200
    accounts = InstagramAccount.objects.order_by("page_name")
    assert [(a.page_name, a.username, a.page_id, a.added_by) for a in accounts] == [
        ("Acme Outlet", "acmeoutlet", "100000000000002", admin_user),
        ("Acme Shoes", "acmeshoes", "100000000000001", admin_user),
    ]
    assert accounts[1].page_access_token == "PAGE-TOKEN-SHOES"
    assert accounts[1].entry_point.channel.kind == "messaging"
    assert accounts[1].entry_point.external_id == "17841400000000001"
    subscribe = [c for c in responses.calls if "subscribed_apps" in c.request.url]
    assert len(subscribe) == 2
    assert (
        "subscribed_fields=messages%2Cmessaging_postbacks%2Cmessage_reactions%2Cmessaging_seen"
        in subscribe[0].request.url
    )

    listing = admin_client.get(LIST_URL).content.decode()
    for text in (
        "Page Name",
        "Username",
        "Page ID",
        "Added By",
        "Added On",
        "Acme Shoes",
        "0 of 200 in the last 5 minutes",
    ):
        assert text in listing
    assert "PAGE-TOKEN" not in listing


def test_a_tampered_state_is_refused(admin_client):
    state = start(admin_client)

    response = callback(admin_client, state[:-2] + "xx", code="the-code")

    assert response.status_code == 403
    assert not InstagramAccount.objects.exists()


def test_an_expired_state_is_refused(admin_client):
    with time_machine.travel(timezone.now() - timedelta(minutes=11)):
        state = start(admin_client)

    response = callback(admin_client, state, code="the-code")

    assert response.status_code == 403
    assert "10 minutes" in response.content.decode()


@responses.activate
def test_a_state_cannot_be_used_twice(admin_client):
    mock_graph()
    state = start(admin_client)
    assert callback(admin_client, state, code="the-code").status_code == 200

    replay = callback(admin_client, state, code="the-code")

    assert replay.status_code == 403


def test_a_state_from_another_admins_session_is_refused(admin_client, client, db):
    state = start(admin_client)
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    other = make_user(role="admin")
    TOTP.activate(other, generate_totp_secret())
    client.force_login(other)

    assert callback(client, state, code="the-code").status_code == 403


def test_a_cancelled_login_explains_what_is_needed(admin_client):
    state = start(admin_client)

    response = callback(admin_client, state, error="access_denied", error_reason="user_denied")

    # The popup closes (or the tab moves on) to the list, which says why.
    assert response.status_code == 200
    assert 'id="oauth-finish"' in response.content.decode()
    listing = admin_client.get(LIST_URL).content.decode()
    assert "cancelled" in listing
    assert "instagram_manage_messages" in listing


@responses.activate
def test_denied_permissions_are_named(admin_client):
    mock_graph(permissions=["instagram_basic", "pages_show_list"])
    state = start(admin_client)

    response = callback(admin_client, state, code="the-code")

    assert response.status_code == 400
    assert "instagram_manage_messages" in response.content.decode()
    assert not InstagramAccount.objects.exists()


@responses.activate
def test_a_graph_error_is_shown_with_metas_message(admin_client):
    responses.get(
        f"{GRAPH}/oauth/access_token",
        status=400,
        json={"error": {"message": "This authorization code has expired.", "type": "OAuthException", "code": 100}},
    )
    state = start(admin_client)

    response = callback(admin_client, state, code="the-code")

    assert response.status_code == 502
    assert "This authorization code has expired." in response.content.decode()


@responses.activate
def test_no_eligible_accounts_explains_the_prerequisites(admin_client):
    mock_graph(pages={"data": [PAGES["data"][2]]})
    state = start(admin_client)

    response = callback(admin_client, state, code="the-code")

    assert response.status_code == 400
    assert "Allow Access to Messages" in response.content.decode()


@responses.activate
def test_an_already_connected_account_is_marked_and_reconnecting_replaces_its_token(admin_client):
    account = make_instagram_account(
        make_entry_point(external_id="17841400000000001", display_name="@acmeshoes"),
        page_id="100000000000001",
        token="OLD-TOKEN",
        status=InstagramAccount.Status.NEEDS_REAUTHORIZATION,
    )
    mock_graph()
    state = start(admin_client)
    assert "already connected" in callback(admin_client, state, code="the-code").content.decode()

    admin_client.post(CONFIRM_URL, {"page_id": ["100000000000001"]})

    account.refresh_from_db()
    assert account.page_access_token == "PAGE-TOKEN-SHOES"
    assert account.status == InstagramAccount.Status.CONNECTED
    assert InstagramAccount.objects.count() == 1


@responses.activate
def test_token_invalid_then_reauthorize_resumes_the_queued_sends(admin_client, django_capture_on_commit_callbacks):
    account = make_instagram_account(
        make_entry_point(external_id="17841400000000001"), page_id="100000000000001", token="OLD-TOKEN"
    )
    customer = make_customer(account.entry_point, external_id="IGSID")
    conversation = make_conversation(
        entry_point=account.entry_point, customer=customer, last_customer_message_at=timezone.now()
    )
    from conversations.outbound import send_reply

    item = send_reply(conversation, make_user(), "queued while paused")
    mark_needs_reauthorization(account, "Meta refused the page token")
    banner = admin_client.get(LIST_URL).content.decode()
    assert "needs reauthorization" in banner
    mock_graph()
    state = start(admin_client)
    callback(admin_client, state, code="the-code")

    with mock.patch("conversations.outbound.current_app.send_task") as send_task:
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(CONFIRM_URL, {"page_id": ["100000000000001"]})

    send_task.assert_any_call(
        "conversations.tasks.drain_entry_point", args=[account.entry_point_id], kwargs={"owner": mock.ANY}
    )
    item.refresh_from_db()
    assert item.delivery_status == TimelineItem.Delivery.QUEUED
    assert OutboundMessage.objects.get().status == "queued"


@responses.activate
def test_remove_unsubscribes_and_keeps_conversations(admin_client):
    account = make_instagram_account(page_id="100000000000009", token="TOKEN")
    conversation = make_conversation(entry_point=account.entry_point)
    responses.delete(f"{GRAPH}/100000000000009/subscribed_apps", json={"success": True})
    url = reverse("admin:meta_instagramaccount_remove", args=[account.pk])

    confirm_page = admin_client.get(url)
    assert confirm_page.status_code == 200
    assert InstagramAccount.objects.get().status == InstagramAccount.Status.CONNECTED

    admin_client.post(url)

    account.refresh_from_db()
    assert account.status == InstagramAccount.Status.REMOVED
    assert EntryPoint.objects.get(pk=account.entry_point_id).active is False
    assert conversation.__class__.objects.filter(pk=conversation.pk).exists()
    assert len(responses.calls) == 1


@responses.activate
def test_remove_reports_a_graph_error_but_still_removes(admin_client):
    account = make_instagram_account(page_id="100000000000009")
    responses.delete(
        f"{GRAPH}/100000000000009/subscribed_apps", status=400, json={"error": {"message": "Nope", "code": 100}}
    )

    response = admin_client.post(reverse("admin:meta_instagramaccount_remove", args=[account.pk]), follow=True)

    account.refresh_from_db()
    assert account.status == InstagramAccount.Status.REMOVED
    assert "Nope" in response.content.decode()


@pytest.mark.parametrize("url", [LIST_URL, START_URL, CALLBACK_URL])
def test_agents_cannot_use_instagram_settings(client, db, url):
    client.force_login(make_user())

    response = client.get(url)

    assert response.status_code in (302, 403)
    assert "facebook.com" not in response.get("Location", "")


def test_there_is_no_form_to_type_a_token(admin_client):
    assert admin_client.get(reverse("admin:meta_instagramaccount_add")).status_code == 403


def test_only_superusers_see_and_change_the_story_mentions_switch(admin_client, client, db):
    account = make_instagram_account()
    url = reverse("admin:meta_instagramaccount_change", args=[account.pk])
    assert "convert_story_mentions" not in admin_client.get(url).content.decode()
    admin_client.post(url, {"convert_story_mentions": "on"})
    account.refresh_from_db()
    assert account.convert_story_mentions is False

    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from inbox.models import User

    staff = User.objects.create_superuser("staff@example.test", "pw")
    TOTP.activate(staff, generate_totp_secret())
    client.force_login(staff)
    page = client.get(url).content.decode()
    assert "convert_story_mentions" in page and "thousands of conversations" in page
    client.post(url, {"convert_story_mentions": "on"})

    account.refresh_from_db()
    assert account.convert_story_mentions is True
    from django.contrib.admin.models import LogEntry

    assert LogEntry.objects.filter(object_id=str(account.pk), user=staff).exists()


def test_page_tokens_are_encrypted_at_rest(db):
    account = make_instagram_account(token="PLAINTEXT-PAGE-TOKEN")

    with connection.cursor() as cursor:
        cursor.execute("SELECT page_access_token FROM channels_app_instagramaccount WHERE id = %s", [account.pk])
        stored = cursor.fetchone()[0]

    assert "PLAINTEXT-PAGE-TOKEN" not in stored
    assert InstagramAccount.objects.get().page_access_token == "PLAINTEXT-PAGE-TOKEN"


def test_admins_are_emailed_when_an_account_needs_reauthorization(db, mailoutbox):
    make_user(role="admin", email="boss@example.test")
    make_user(email="agent@example.test")
    account = make_instagram_account(username="acmeshoes")

    mark_needs_reauthorization(account, "Meta refused the page token: Session has expired.")

    [mail] = mailoutbox
    assert mail.to == ["boss@example.test"]
    assert "@acmeshoes needs reauthorization" in mail.subject
    assert "queued, not lost" in mail.body
