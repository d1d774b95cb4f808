"""SSRF with read-back: webhook media URLs are fetched only from Meta's CDN, on public addresses."""

import pytest
import requests
import responses
from django.test import override_settings

from channels_app.meta.media import MediaError, MediaRefused, fetch_media
from conversations import safe_fetch
from conversations.models import Attachment
from tests import factories

from .helpers import PNG, resolve_to

CDN_URL = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1789"


def fetch(url, **kwargs):
    kwargs.setdefault("allowed_hosts", ["fbsbx.com"])
    kwargs.setdefault("max_bytes", 1024)
    kwargs.setdefault("timeout", 5)
    return safe_fetch.fetch(url, **kwargs)


@responses.activate
def test_a_cdn_url_on_a_public_address_is_fetched(monkeypatch):
    resolve_to(monkeypatch, "157.240.1.35")
    responses.get(CDN_URL, body=PNG, content_type="image/png")

    content, content_type = fetch_media(CDN_URL)

    assert (content, content_type) == (PNG, "image/png")


@responses.activate
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "https://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "https://internal.example.com/secret",
        "https://fbsbx.com.attacker.example/x.png",
        "https://evilfbsbx.com/x.png",
        "http://lookaside.fbsbx.com/x.png",
        "file:///etc/passwd",
    ],
)
def test_urls_off_metas_cdn_are_refused_without_a_request(url, monkeypatch):
    resolve_to(monkeypatch, "157.240.1.35")

    with pytest.raises(MediaRefused):
        fetch_media(url)

    assert len(responses.calls) == 0


@responses.activate
@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "169.254.169.254", "::1", "fd00::1", "224.0.0.1"])
def test_an_allowed_name_resolving_to_a_private_address_is_refused(address, monkeypatch):
    resolve_to(monkeypatch, address)
    responses.get(CDN_URL, body=b"internal secrets")

    with pytest.raises(MediaRefused):
        fetch_media(CDN_URL)

    assert len(responses.calls) == 0


@responses.activate
def test_one_private_answer_among_public_ones_is_refused(monkeypatch):
    resolve_to(monkeypatch, "157.240.1.35", "127.0.0.1")

    with pytest.raises(safe_fetch.FetchRefused):
        fetch(CDN_URL)


@responses.activate
def test_a_redirect_off_the_cdn_is_refused(monkeypatch):
    resolve_to(monkeypatch, "157.240.1.35")
    responses.get(CDN_URL, status=302, headers={"Location": "http://127.0.0.1:8000/admin/"})

    with pytest.raises(safe_fetch.FetchRefused):
        fetch(CDN_URL)

    assert len(responses.calls) == 1


@responses.activate
def test_a_redirect_within_the_cdn_is_followed(monkeypatch):
    resolve_to(monkeypatch, "157.240.1.35")
    responses.get(CDN_URL, status=302, headers={"Location": "https://scontent.fbsbx.com/p.png"})
    responses.get("https://scontent.fbsbx.com/p.png", body=PNG, content_type="image/png")

    content, _content_type = fetch(CDN_URL)

    assert content == PNG


@responses.activate
def test_a_redirect_loop_stops(monkeypatch):
    resolve_to(monkeypatch, "157.240.1.35")
    responses.get(CDN_URL, status=302, headers={"Location": CDN_URL})

    with pytest.raises(safe_fetch.FetchFailed):
        fetch(CDN_URL)

    assert len(responses.calls) == safe_fetch.MAX_REDIRECTS + 1


@responses.activate
def test_auth_is_not_sent_to_a_redirected_host(monkeypatch):
    resolve_to(monkeypatch, "157.240.1.35")
    responses.get(CDN_URL, status=302, headers={"Location": "https://other.fbsbx.com/p.png"})
    responses.get("https://other.fbsbx.com/p.png", body=PNG)

    fetch(CDN_URL, auth=("account", "secret"))

    assert "Authorization" in responses.calls[0].request.headers
    assert "Authorization" not in responses.calls[1].request.headers


@responses.activate
def test_a_file_over_the_cap_is_refused(monkeypatch):
    resolve_to(monkeypatch, "157.240.1.35")
    responses.get(CDN_URL, body=b"x" * 2048)

    with pytest.raises(safe_fetch.FetchFailed, match="larger"):
        fetch(CDN_URL, max_bytes=1024)


@responses.activate
@override_settings(META_SANDBOX=True, SITE_URL="http://127.0.0.1:8000")
def test_the_sandbox_host_is_allowed_while_the_sandbox_is_on():
    responses.get("http://127.0.0.1:8000/sandbox/meta/media/shoe.png", body=PNG, content_type="image/png")

    content, _content_type = fetch_media("http://127.0.0.1:8000/sandbox/meta/media/shoe.png")

    assert content == PNG


@responses.activate
@override_settings(META_SANDBOX=True, SITE_URL="http://127.0.0.1:8000")
def test_another_port_on_the_sandbox_host_is_refused():
    with pytest.raises(MediaRefused):
        fetch_media("http://127.0.0.1:6379/")


@responses.activate
@override_settings(META_SANDBOX=False, SITE_URL="http://127.0.0.1:8000")
def test_the_sandbox_host_is_refused_when_the_sandbox_is_off():
    with pytest.raises(MediaError):
        fetch_media("http://127.0.0.1:8000/sandbox/meta/media/shoe.png")

    assert len(responses.calls) == 0


@pytest.mark.django_db
@responses.activate
def test_a_refused_attachment_fails_at_once_instead_of_retrying(monkeypatch):
    from channels_app.meta.media import download_attachment

    resolve_to(monkeypatch, "127.0.0.1")
    conversation = factories.make_conversation()
    item = factories.make_item(conversation)
    attachment = Attachment.objects.create(item=item, kind="image", original_url=CDN_URL)

    assert download_attachment(attachment.pk) is True

    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.FAILED


def test_the_connection_goes_to_the_checked_address_with_the_real_name_for_tls():
    # Connecting to the address we checked (not resolving again) is what stops DNS rebinding.
    adapter = safe_fetch.PinnedAddressAdapter("lookaside.fbsbx.com", "157.240.1.35")
    request = requests.Request("GET", CDN_URL).prepare()

    host_params, pool_kwargs = adapter.build_connection_pool_key_attributes(request, verify=True)
    adapter.add_headers(request)

    assert host_params["host"] == "157.240.1.35"
    assert request.headers["Host"] == "lookaside.fbsbx.com"
    assert pool_kwargs["server_hostname"] == "lookaside.fbsbx.com"
    assert pool_kwargs["assert_hostname"] == "lookaside.fbsbx.com"
