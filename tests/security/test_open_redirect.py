from urllib.parse import parse_qs, urlparse

import pytest

from tests.factories import make_inbox, make_user

OFFSITE = ["https://evil.example/x", "//evil.example", "///evil.example", "javascript:alert(1)"]


def _stays_on_site(location):
    parsed = urlparse(location)
    return not parsed.scheme and not parsed.netloc and location.startswith("/") and not location.startswith("//")


@pytest.mark.parametrize("next_url", OFFSITE)
def test_settings_login_does_not_redirect_a_signed_in_admin_off_site(admin_client, next_url):
    response = admin_client.get("/settings/login/", {"next": next_url})

    assert response.status_code == 302
    assert _stays_on_site(response["Location"]), response["Location"]


@pytest.mark.parametrize("next_url", OFFSITE)
def test_settings_login_does_not_hand_an_off_site_next_to_the_sign_in_page(client, db, next_url):
    response = client.get("/settings/login/", {"next": next_url})

    handed_on = parse_qs(urlparse(response["Location"]).query)["next"][0]
    assert _stays_on_site(handed_on), handed_on


def test_settings_login_still_follows_a_next_on_this_site(admin_client):
    response = admin_client.get("/settings/login/", {"next": "/settings/inbox/inbox/"})

    assert response["Location"] == "/settings/inbox/inbox/"


@pytest.fixture
def agent_client(client, db):
    agent = make_user()
    inbox = make_inbox(members=[agent])
    client.force_login(agent)
    return client, inbox.channel


@pytest.mark.parametrize("next_url", OFFSITE)
def test_availability_does_not_redirect_off_site(agent_client, next_url):
    client, channel = agent_client

    response = client.post("/inbox/availability/", {"channel": channel.pk, "status": "available", "next": next_url})

    assert response.status_code == 302
    assert _stays_on_site(response["Location"]), response["Location"]


def test_availability_still_follows_a_next_on_this_site(agent_client):
    client, channel = agent_client

    response = client.post(
        "/inbox/availability/", {"channel": channel.pk, "status": "away", "next": "/inbox/?filter=mine"}
    )

    assert response["Location"] == "/inbox/?filter=mine"


@pytest.mark.parametrize("next_url", OFFSITE)
def test_signing_in_does_not_follow_an_off_site_next(client, db, next_url):
    make_user(email="agent@example.test", password="a-long-password-123")

    response = client.post(
        f"/accounts/login/?next={next_url}", {"login": "agent@example.test", "password": "a-long-password-123"}
    )

    assert response.status_code == 302
    assert _stays_on_site(response["Location"]), response["Location"]
