import hashlib

import pytest
import responses
from responses import matchers

from channels_app.meta import whatsapp_graph
from channels_app.meta.graph import GraphError
from channels_app.meta.whatsapp_graph import (
    PAUSED,
    RATE_LIMITED,
    REFUSED,
    TRANSIENT,
    MediaInfo,
    MediaIntegrityError,
    PhoneNumber,
    TemplateVariable,
)

TOKEN = "EAAG-test-token"
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
CUSTOMER = "16505551234"
GRAPH = "https://graph.facebook.com/v23.0"
MESSAGES_URL = f"{GRAPH}/{PHONE_NUMBER_ID}/messages"
WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI1RjQ0QjY5RkQ0QTM2NkI4NUUA"
SENT = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": CUSTOMER, "wa_id": CUSTOMER}],
    "messages": [{"id": WAMID}],
}


def expect_send(body):
    return responses.post(
        MESSAGES_URL,
        json=SENT,
        match=[
            matchers.json_params_matcher(
                {"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER, **body}
            ),
            matchers.query_param_matcher({"access_token": TOKEN}),
        ],
    )


@responses.activate
def test_send_text_returns_the_wamid():
    expect_send({"type": "text", "text": {"preview_url": False, "body": "Hello Sheena"}})

    assert whatsapp_graph.send_text(TOKEN, PHONE_NUMBER_ID, CUSTOMER, "Hello Sheena") == WAMID


@responses.activate
def test_send_text_as_a_reply():
    expect_send(
        {"type": "text", "text": {"preview_url": False, "body": "Yes"}, "context": {"message_id": "wamid.customer"}}
    )

    assert whatsapp_graph.send_text(TOKEN, PHONE_NUMBER_ID, CUSTOMER, "Yes", reply_to="wamid.customer") == WAMID


@responses.activate
def test_send_an_image_by_link_with_a_caption():
    expect_send({"type": "image", "image": {"link": "https://example.com/a.jpg", "caption": "Your receipt"}})

    wamid = whatsapp_graph.send_media(
        TOKEN, PHONE_NUMBER_ID, CUSTOMER, "image", link="https://example.com/a.jpg", caption="Your receipt"
    )

    assert wamid == WAMID


@responses.activate
def test_send_a_document_by_media_id_with_its_filename():
    expect_send({"type": "document", "document": {"id": "1003383421387256", "filename": "invoice.pdf"}})

    wamid = whatsapp_graph.send_media(
        TOKEN, PHONE_NUMBER_ID, CUSTOMER, "document", media_id="1003383421387256", filename="invoice.pdf"
    )

    assert wamid == WAMID


@pytest.mark.parametrize(
    "arguments",
    [
        {"kind": "gif", "link": "https://example.com/a.gif"},
        {"kind": "image"},
        {"kind": "image", "link": "https://example.com/a.jpg", "media_id": "1"},
        {"kind": "audio", "media_id": "1", "caption": "listen"},
        {"kind": "image", "media_id": "1", "filename": "a.jpg"},
    ],
)
def test_send_media_refuses_what_meta_would_refuse(arguments):
    with pytest.raises(ValueError):
        whatsapp_graph.send_media(TOKEN, PHONE_NUMBER_ID, CUSTOMER, **arguments)


@responses.activate
def test_send_and_remove_a_reaction():
    expect_send({"type": "reaction", "reaction": {"message_id": "wamid.customer", "emoji": "👍"}})
    expect_send({"type": "reaction", "reaction": {"message_id": "wamid.customer", "emoji": ""}})

    assert whatsapp_graph.send_reaction(TOKEN, PHONE_NUMBER_ID, CUSTOMER, "wamid.customer", "👍") == WAMID
    assert whatsapp_graph.send_reaction(TOKEN, PHONE_NUMBER_ID, CUSTOMER, "wamid.customer", "") == WAMID


@responses.activate
def test_send_a_template_with_its_components():
    components = [{"type": "body", "parameters": [{"type": "text", "text": "Sheena"}]}]
    expect_send(
        {
            "type": "template",
            "template": {"name": "order_update", "language": {"code": "en_US"}, "components": components},
        }
    )

    assert whatsapp_graph.send_template(TOKEN, PHONE_NUMBER_ID, CUSTOMER, "order_update", "en_US", components) == WAMID


@responses.activate
def test_a_template_without_variables_sends_no_components():
    expect_send({"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}})

    assert whatsapp_graph.send_template(TOKEN, PHONE_NUMBER_ID, CUSTOMER, "hello_world", "en_US") == WAMID


@responses.activate
def test_a_refused_send_raises_graph_error_with_metas_code():
    responses.post(
        MESSAGES_URL,
        status=400,
        json={
            "error": {
                "message": "(#131047) Re-engagement message",
                "type": "OAuthException",
                "code": 131047,
                "error_data": {
                    "messaging_product": "whatsapp",
                    "details": "Message failed to send because more than 24 hours have passed since the customer "
                    "last replied to this number.",
                },
                "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
            }
        },
    )

    with pytest.raises(GraphError) as caught:
        whatsapp_graph.send_text(TOKEN, PHONE_NUMBER_ID, CUSTOMER, "late")

    assert caught.value.code == 131047
    assert whatsapp_graph.whatsapp_send_failure(caught.value)[1] == REFUSED


MEDIA = {
    "messaging_product": "whatsapp",
    "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256&ext=1749416383&hash=ATv",
    "mime_type": "image/jpeg",
    "file_size": "303833",
    "id": "1003383421387256",
}


@responses.activate
def test_media_url():
    responses.get(
        f"{GRAPH}/1003383421387256",
        json={**MEDIA, "sha256": "81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3"},
        match=[matchers.query_param_matcher({"access_token": TOKEN})],
    )

    info = whatsapp_graph.media_url(TOKEN, "1003383421387256")

    assert info == MediaInfo(
        MEDIA["url"], "image/jpeg", "81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3", 303833
    )
    url, mime_type, sha256, file_size = info
    assert file_size == 303833


@responses.activate
def test_download_media_hands_the_url_and_a_bearer_header_to_fetch():
    content = b"\xff\xd8\xff jpeg bytes"
    responses.get(f"{GRAPH}/1003383421387256", json={**MEDIA, "sha256": hashlib.sha256(content).hexdigest()})
    calls = []

    def fetch(url, headers):
        calls.append((url, headers))
        return content

    downloaded, info = whatsapp_graph.download_media(TOKEN, "1003383421387256", fetch)

    assert downloaded == content
    assert info.mime_type == "image/jpeg"
    assert calls == [(MEDIA["url"], {"Authorization": f"Bearer {TOKEN}"})]


@responses.activate
def test_download_media_refuses_bytes_that_do_not_match_the_sha256():
    responses.get(f"{GRAPH}/1003383421387256", json={**MEDIA, "sha256": hashlib.sha256(b"other").hexdigest()})

    with pytest.raises(MediaIntegrityError):
        whatsapp_graph.download_media(TOKEN, "1003383421387256", lambda url, headers: b"tampered")


@responses.activate
def test_list_templates_keeps_the_approved_ones_with_their_variables():
    responses.get(
        f"{GRAPH}/{WABA_ID}/message_templates",
        match=[
            matchers.query_param_matcher(
                {
                    "access_token": TOKEN,
                    "fields": "id,name,language,status,category,parameter_format,components",
                    "limit": "100",
                }
            )
        ],
        json={
            "data": [
                {
                    "id": "1627019861106475",
                    "name": "order_update",
                    "language": "en_US",
                    "status": "APPROVED",
                    "category": "UTILITY",
                    "parameter_format": "POSITIONAL",
                    "components": [
                        {
                            "type": "HEADER",
                            "format": "TEXT",
                            "text": "Order {{1}}",
                            "example": {"header_text": ["1042"]},
                        },
                        {
                            "type": "BODY",
                            "text": "Hi {{1}}, your order is {{2}}.",
                            "example": {"body_text": [["Sheena", "on its way"]]},
                        },
                        {"type": "FOOTER", "text": "Lucky Shrub"},
                        {
                            "type": "BUTTONS",
                            "buttons": [
                                {"type": "URL", "text": "Track", "url": "https://example.com/track/{{1}}"},
                                {"type": "QUICK_REPLY", "text": "Stop"},
                            ],
                        },
                    ],
                },
                {
                    "id": "1627019861106476",
                    "name": "welcome_named",
                    "language": "pt_BR",
                    "status": "APPROVED",
                    "category": "MARKETING",
                    "parameter_format": "NAMED",
                    "components": [
                        {
                            "type": "BODY",
                            "text": "Olá {{ first_name }}!",
                            "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ana"}]},
                        }
                    ],
                },
                {"id": "3", "name": "draft", "language": "en_US", "status": "PENDING", "components": []},
                {"id": "4", "name": "bad", "language": "en_US", "status": "REJECTED", "components": []},
            ],
            "paging": {"cursors": {"before": "a", "after": "b"}},
        },
    )

    order, welcome = whatsapp_graph.list_templates(TOKEN, WABA_ID)

    assert (order.name, order.language, order.category) == ("order_update", "en_US", "UTILITY")
    assert order.variables == (
        TemplateVariable("header", "1", "1042"),
        TemplateVariable("body", "1", "Sheena"),
        TemplateVariable("body", "2", "on its way"),
        TemplateVariable("button", "1"),
    )
    assert welcome.parameter_format == "NAMED"
    assert welcome.variables == (TemplateVariable("body", "first_name", "Ana"),)


@responses.activate
def test_phone_numbers():
    responses.get(
        f"{GRAPH}/{WABA_ID}/phone_numbers",
        match=[
            matchers.query_param_matcher(
                {
                    "access_token": TOKEN,
                    "fields": "id,display_phone_number,verified_name,quality_rating,messaging_limit_tier,throughput",
                }
            )
        ],
        json={
            "data": [
                {
                    "verified_name": "Lucky Shrub",
                    "display_phone_number": "+1 555-078-3881",
                    "id": PHONE_NUMBER_ID,
                    "quality_rating": "GREEN",
                    "messaging_limit_tier": "TIER_1K",
                    "throughput": {"level": "STANDARD"},
                }
            ]
        },
    )

    assert whatsapp_graph.phone_numbers(TOKEN, WABA_ID) == [
        PhoneNumber(PHONE_NUMBER_ID, "+1 555-078-3881", "Lucky Shrub", "GREEN", "TIER_1K", "STANDARD")
    ]


@responses.activate
def test_subscribe_and_unsubscribe_the_app():
    responses.post(f"{GRAPH}/{WABA_ID}/subscribed_apps", json={"success": True})
    responses.delete(f"{GRAPH}/{WABA_ID}/subscribed_apps", json={"success": True})

    assert whatsapp_graph.subscribe_app(TOKEN, WABA_ID)
    assert whatsapp_graph.unsubscribe_app(TOKEN, WABA_ID)
    assert [call.request.method for call in responses.calls] == ["POST", "DELETE"]


@pytest.mark.parametrize(
    ("code", "outcome", "words"),
    [
        (131047, REFUSED, "template"),
        (131026, REFUSED, "not be delivered"),
        (131056, RATE_LIMITED, "this customer"),
        (130429, RATE_LIMITED, "rate"),
        (131048, RATE_LIMITED, "spam"),
        (132015, REFUSED, "paused"),
        (132016, REFUSED, "disabled"),
        (132000, REFUSED, "variables"),
        (132001, REFUSED, "does not exist"),
        (131042, PAUSED, "payment"),
        (190, PAUSED, "reconnect"),
        (131051, REFUSED, "not support"),
        (131052, REFUSED, "downloaded"),
        (131053, REFUSED, "uploaded"),
        (100, REFUSED, "parameter"),
        (131000, TRANSIENT, "trying again"),
    ],
)
def test_whatsapp_error_reason(code, outcome, words):
    reason, got = whatsapp_graph.whatsapp_error_reason(code, "")

    assert got == outcome
    assert words in reason


def test_an_unknown_code_is_refused_with_metas_details():
    reason, outcome = whatsapp_graph.whatsapp_error_reason(999999, "Something specific.")

    assert outcome == REFUSED
    assert "999999" in reason and "Something specific." in reason


def test_a_bad_parameter_says_which_one():
    reason, _ = whatsapp_graph.whatsapp_error_reason(100, "Param text['body'] must be at most 4096 characters.")

    assert "4096" in reason


def test_no_answer_from_meta_is_transient():
    assert whatsapp_graph.whatsapp_send_failure(GraphError("timeout", transport=True))[1] == TRANSIENT
    assert whatsapp_graph.whatsapp_send_failure(GraphError("HTTP 502", http_status=502))[1] == TRANSIENT
