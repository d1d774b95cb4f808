"""Issue #14: the admin's side of the Instagram journey (each test failed before the fix)."""

import json
from unittest import mock
from urllib.parse import unquote

import pytest
import responses
from django.core import mail
from django.urls import reverse

from channels_app.meta import accounts, processing
from channels_app.meta.models import InstagramAccount, WebhookEvent
from channels_app.models import Channel, RoutingException
from tests.channels_app.test_instagram_settings import CALLBACK_URL, CONFIRM_URL, LIST_URL, START_URL, mock_graph
from tests.factories import make_entry_point, make_inbox, make_instagram_account, make_user

pytestmark = pytest.mark.django_db


def shoes(**fields):
    return make_instagram_account(
        make_entry_point(external_id="17841400000000001", display_name="@acmeshoes"),
        page_id="100000000000001",
        username="acmeshoes",
        **fields,
    )


def login(client, account=None):
    """Start (Reauthorize / Add again when `account`) and come back from Facebook Login."""
    response = client.get(START_URL + (f"?account={account.pk}" if account else ""))
    state = response["Location"].split("state=")[1].split("&")[0]
    return client.get(CALLBACK_URL, {"state": unquote(state), "code": "the-code"})


# --- 1. Reauthorize says so ----------------------------------------------------------


@responses.activate
def test_reauthorize_is_called_reauthorized_and_clears_the_flag(admin_client):
    account = shoes(status=InstagramAccount.Status.NEEDS_REAUTHORIZATION, token="OLD")
    mock_graph()
    login(admin_client, account)

    finish = admin_client.post(CONFIRM_URL, {"page_id": ["100000000000001"]})

    assert "<title>Instagram account reauthorized" in finish.content.decode()
    listing = admin_client.get(LIST_URL).content.decode()
    assert "@acmeshoes was reauthorized" in listing
    assert "added" not in listing.split('class="messagelist"')[1].split("</ul>")[0]
    account.refresh_from_db()
    assert account.status == InstagramAccount.Status.CONNECTED
    subscribe = [c for c in responses.calls if "subscribed_apps" in c.request.url]
    assert "access_token=PAGE-TOKEN-SHOES" in subscribe[0].request.url  # the new token, not OLD


def test_admins_are_emailed_once_per_incident_with_a_link(db, settings):
    settings.SITE_URL = "https://support.example.com"
    make_user(role="admin", email="boss@example.test")
    account = shoes()

    for _ in range(3):  # three sends fail within seconds
        accounts.mark_needs_reauthorization(account, "Session has expired.")

    assert len(mail.outbox) == 1
    assert "https://support.example.com/settings/meta/instagramaccount/" in mail.outbox[0].body


# --- 6. Reauthorize / Add again: popup, pre-ticked, an empty choice asks again -------------


@responses.activate
def test_reauthorize_pre_ticks_that_account_and_an_empty_choice_asks_again(admin_client):
    account = shoes(status=InstagramAccount.Status.NEEDS_REAUTHORIZATION)
    listing = admin_client.get(LIST_URL).content.decode()
    assert f'data-popup-url="{START_URL}?account={account.pk}"' in listing
    mock_graph()

    choose = login(admin_client, account).content.decode()

    assert 'value="100000000000001" checked' in choose
    assert 'value="100000000000002" checked' not in choose
    again = admin_client.post(CONFIRM_URL, {})
    assert again.status_code == 200
    assert "Tick at least one account" in again.content.decode()
    assert "@acmeshoes" in again.content.decode()  # the login is still there
    admin_client.post(CONFIRM_URL, {"page_id": ["100000000000001"]})
    account.refresh_from_db()
    assert account.status == InstagramAccount.Status.CONNECTED


def test_add_again_opens_the_popup_for_that_account(admin_client):
    account = shoes(status=InstagramAccount.Status.REMOVED)

    listing = admin_client.get(LIST_URL).content.decode()

    assert f'data-testid="add-again-{account.pk}">Add again' in listing
    assert f'data-popup-url="{START_URL}?account={account.pk}"' in listing


# --- 5. Cancel in the popup ------------------------------------------------------------


def test_cancel_closes_the_popup_and_the_list_shows_why(admin_client):
    response = admin_client.get(START_URL)
    state = unquote(response["Location"].split("state=")[1].split("&")[0])

    finish = admin_client.get(CALLBACK_URL, {"state": state, "error": "access_denied"}).content.decode()

    assert 'id="oauth-finish"' in finish
    assert "Start again" not in finish and 'id="header"' not in finish  # not the Settings admin
    assert "Facebook Login was cancelled" in admin_client.get(LIST_URL).content.decode()


# --- 7. The account page ---------------------------------------------------------------


def test_the_account_page_is_read_only_with_budget_events_and_actions(admin_client):
    account = shoes(status=InstagramAccount.Status.NEEDS_REAUTHORIZATION)
    WebhookEvent.objects.create(
        object="instagram",
        body=json.dumps({"object": "instagram", "entry": [{"id": "17841400000000001", "messaging": []}]}),
        status=WebhookEvent.Status.PROCESSED,
    )

    html = admin_client.get(reverse("admin:meta_instagramaccount_change", args=[account.pk])).content.decode()

    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert "0 of 200 in the last 5 minutes" in html
    assert 'data-testid="recent-events"' in html
    assert f'data-testid="reauthorize-{account.pk}"' in html
    assert f'data-testid="remove-{account.pk}"' in html


# --- 18. Webhook events ----------------------------------------------------------------


def test_webhook_events_show_kind_account_attempts_reason_and_a_retry_per_row(admin_client):
    shoes()
    body = {
        "object": "instagram",
        "entry": [{"id": "17841400000000001", "messaging": [{"reaction": {"mid": "m", "action": "react"}}]}],
    }
    event = WebhookEvent.objects.create(object="instagram", body=json.dumps(body))
    processing.mark_failed(event.pk, "Processing failed: boom")
    event.refresh_from_db()
    assert event.attempts == 1  # the failed attempt counts

    html = admin_client.get(reverse("admin:meta_webhookevent_changelist")).content.decode()

    for header in ("Kind", "Account", "Attempts", "Reason"):
        assert header in html
    assert ">reaction<" in html and "@acmeshoes" in html and "Processing failed: boom" in html
    assert f'data-testid="retry-event-{event.pk}"' in html

    with mock.patch("channels_app.meta.processing.publish_in_batches"):
        admin_client.post(reverse("admin:meta_webhookevent_retry", args=[event.pk]))
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.RECEIVED


# --- 4. Exceptions stay in their Channel; pickers only pick -------------------------------


def test_an_exception_must_name_an_inbox_of_the_entry_points_channel(admin_client):
    messaging = Channel.objects.get(kind=Channel.Kind.MESSAGING)
    entry_point = make_entry_point()
    email_inbox = make_inbox(name="Email", kind=Channel.Kind.EMAIL)
    instagram_inbox = make_inbox(name="Instagram")
    url = reverse("admin:channels_app_entrypointsettings_change", args=[messaging.pk])
    form = {
        "default_inbox": instagram_inbox.pk,
        "exceptions-TOTAL_FORMS": "1",
        "exceptions-INITIAL_FORMS": "0",
        "exceptions-0-entry_point": entry_point.pk,
        "exceptions-0-inbox": email_inbox.pk,
        "entry_points-TOTAL_FORMS": "0",
        "entry_points-INITIAL_FORMS": "0",
    }
    page = admin_client.get(url).content.decode()
    assert "delete_id_default_inbox" not in page and "add_id_default_inbox" not in page
    assert "change_id_default_inbox" not in page

    response = admin_client.post(url, form)

    assert not RoutingException.objects.exists()
    assert response.status_code == 200  # the form again, with the reason
    assert "Select a valid choice" in response.content.decode()

    exception = RoutingException(entry_point=entry_point, inbox=email_inbox, channel=messaging)
    with pytest.raises(Exception, match="belongs to the Email Channel"):
        exception.full_clean()


def test_saving_entry_points_says_so_plainly_and_the_column_is_channel(admin_client):
    messaging = Channel.objects.get(kind=Channel.Kind.MESSAGING)
    inbox = make_inbox(name="Instagram")
    url = reverse("admin:channels_app_entrypointsettings_change", args=[messaging.pk])
    form = {
        "default_inbox": inbox.pk,
        "exceptions-TOTAL_FORMS": "0",
        "exceptions-INITIAL_FORMS": "0",
        "entry_points-TOTAL_FORMS": "0",
        "entry_points-INITIAL_FORMS": "0",
    }

    response = admin_client.post(url, form, follow=True)

    html = response.content.decode()
    assert "The Messaging Channel&#x27;s Entry Points were saved." in html
    assert "The Entry Points “Messaging” was changed" not in html
    assert ">Channel<" in html


# --- 15. An agent at /settings/ --------------------------------------------------------


def test_an_agent_at_settings_gets_the_app_layout_and_a_way_back(client):
    client.force_login(make_user(email="ben@example.test"))

    response = client.get("/settings/", follow=True)

    assert response.status_code == 403
    html = response.content.decode()
    assert "Settings are for admins only" in html
    assert 'class="topbar"' in html and 'href="/inbox/"' in html


# --- 17. Wording ---------------------------------------------------------------------------


def test_list_wording_counts_accounts_and_pluralises_story_mentions(admin_client):
    shoes()
    make_instagram_account()

    html = admin_client.get(LIST_URL).content.decode()

    assert "2 Instagram accounts" in html and "2 Instagram Messaging" not in html
    assert "0 story mentions not converted" in html and "(s)" not in html
    assert "Can&#x27;t Load URL" not in html and "Can't Load URL" not in html  # the sandbox is on in tests


def test_sign_in_wording_and_remember_me_checkbox(client):
    html = client.get("/accounts/login/").content.decode()

    assert "Sign In" not in html
    assert "Remember Me:" not in html
    assert 'name="remember" id="id_remember"> Remember me' in html


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("favicon.ico")
    html = client.get("/accounts/login/").content.decode()
    assert 'rel="icon"' in html


def test_breadcrumbs_start_with_settings_on_every_page(admin_client):
    account = shoes()
    pages = [
        reverse("admin:meta_instagramaccount_remove", args=[account.pk]),
        reverse("admin:meta_instagramaccount_changelist"),
        reverse("admin:channels_app_entrypointsettings_changelist"),
    ]

    for page in pages:
        html = admin_client.get(page).content.decode()
        breadcrumbs = html[html.index('aria-label="Breadcrumbs"') :].split("</nav>")[0]
        assert breadcrumbs.split("</a>")[0].endswith(">Settings"), page
        assert "Home" not in breadcrumbs, page


def test_the_sandbox_facebook_dialog_has_none_of_the_apps_top_bar(admin_client, settings):
    from sandbox import demo_data

    html = admin_client.get(
        "/sandbox/meta/dialog/v23.0/dialog/oauth",
        {"client_id": settings.META_APP_ID, "redirect_uri": f"http://testserver{CALLBACK_URL}", "state": "s"},
    ).content.decode()

    assert "fb-dialog" in html
    assert 'class="topbar"' not in html and "Sign out" not in html
    assert demo_data.DEMO_USER_NAME in html


def test_settings_need_site_url_in_production():
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {
        "ENV_FILE": "",
        "DEBUG": "false",
        "SECRET_KEY": "x" * 60,
        "FIELD_ENCRYPTION_KEY": "q0ZC6j2J7y5tG7Q0rL1uQ3WcY9s8m2n4b6v8x0z2A4E=",
        "META_SANDBOX": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PATH": "/usr/bin:/bin",
    }
    code = "import django; django.setup()"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)

    assert result.returncode != 0
    assert "SITE_URL must be set" in result.stderr
