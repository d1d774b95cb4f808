"""The Cloud API stand-in takes the app's media uploads and sends by media id, and the simulator shows them."""

import json
from json import dumps
from unittest import mock
from urllib.parse import urlparse

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from channels_app.meta import oauth, whatsapp_graph
from channels_app.meta.graph import GraphError
from sandbox import demo_data
from sandbox.models import SandboxSend, SandboxToken, SandboxWhatsAppUpload
from tests.factories import make_admin, make_whatsapp_number

GRAPH = "/sandbox/meta/graph/v23.0"
WABA = "102290129340398"
NUMBER = "106540352242922"
CUSTOMER = "5511987654321"  # a sandbox WhatsApp customer
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"

pytestmark = pytest.mark.django_db


def _through(client):
    """requests.Session.request answered by the Django test client, multipart bodies included."""

    def request(method, url, params=None, json=None, data=None, files=None, **kwargs):
        path = urlparse(url).path.replace("/v23.0/", f"{GRAPH}/", 1)
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items() if v is not None)
        if files:
            fields = dict(data or {})
            for name, (filename, content, mime) in files.items():
                fields[name] = SimpleUploadedFile(filename, content, content_type=mime)
            response = client.post(f"{path}?{query}", fields)
        else:
            response = client.generic(
                method, f"{path}?{query}", data=dumps(json or {}), content_type="application/json"
            )
        answer = mock.Mock(status_code=response.status_code)
        answer.json.return_value = response.json()
        return answer

    return request


@pytest.fixture
def token():
    SandboxToken.objects.create(token="t", scopes=list(oauth.WHATSAPP_SCOPES), waba_ids=[WABA])
    return "t"


def test_the_apps_upload_and_send_by_id_reach_the_customer(client, token):
    with (
        mock.patch("channels_app.meta.graph.requests.Session.request", side_effect=_through(client)),
        mock.patch("sandbox.whatsapp_graph.post_webhook.apply_async"),
    ):
        media_id = whatsapp_graph.upload_media(token, NUMBER, PNG, "image/png", "receipt.png")
        wamid = whatsapp_graph.send_media(token, NUMBER, CUSTOMER, "image", media_id=media_id)

    upload = SandboxWhatsAppUpload.objects.get(media_id=media_id)
    assert (upload.mime_type, upload.filename, bytes(upload.content)) == ("image/png", "receipt.png", PNG)
    assert SandboxSend.objects.get(message_id=wamid).text == media_id

    client.force_login(make_admin())
    make_whatsapp_number(token=demo_data.system_user_token(WABA), verified_name="Acme Shoes")
    page = client.get(f"/sandbox/meta/customer/whatsapp/?number={NUMBER}&customer={CUSTOMER}").content.decode()
    assert f'src="/sandbox/meta/whatsapp-uploads/{media_id}/"' in page
    shown = client.get(f"/sandbox/meta/whatsapp-uploads/{media_id}/")
    assert shown["Content-Type"] == "image/png" and shown.content == PNG


def test_an_unsupported_type_is_refused_like_the_cloud_api(client, token):
    with (
        mock.patch("channels_app.meta.graph.requests.Session.request", side_effect=_through(client)),
        pytest.raises(GraphError) as refused,
    ):
        whatsapp_graph.upload_media(token, NUMBER, GIF, "image/gif", "wave.gif")

    assert refused.value.code == 131053
    assert refused.value.details.startswith("Param file must be a file with one of the following types")
    assert not SandboxWhatsAppUpload.objects.exists()


def test_an_upload_needs_a_token_that_reaches_the_number(client, token):
    response = client.post(
        f"{GRAPH}/{NUMBER}/media?access_token=other",
        {"messaging_product": "whatsapp", "type": "image/png", "file": SimpleUploadedFile("a.png", PNG, "image/png")},
    )

    assert response.status_code == 401 and response.json()["error"]["code"] == 190


def test_a_send_by_an_unknown_media_id_is_refused(client, token):
    response = client.post(
        f"{GRAPH}/{NUMBER}/messages?access_token=t",
        data=json.dumps({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image", "image": {"id": "990123"}}),
        content_type="application/json",
    )

    assert response.status_code == 400 and response.json()["error"]["code"] == 131053
