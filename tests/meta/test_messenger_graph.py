import pytest
import responses
from responses import matchers

from channels_app.meta import messenger_graph
from channels_app.meta.graph import GraphError
from channels_app.meta.messenger_graph import MessengerProfile

PAGE_TOKEN = "EAAP-page-token"
PAGE_ID = "100000000000001"
PSID = "1234567890123456"
GRAPH = "https://graph.facebook.com/v23.0"
SEND_URL = f"{GRAPH}/{PAGE_ID}/messages"
SENT = {"recipient_id": PSID, "message_id": "m_sent_1"}


def expect_send(body):
    responses.post(
        SEND_URL,
        json=SENT,
        match=[matchers.json_params_matcher(body), matchers.query_param_matcher({"access_token": PAGE_TOKEN})],
    )


@responses.activate
def test_fetch_profile():
    responses.get(
        f"{GRAPH}/{PSID}",
        json={
            "first_name": "Peter",
            "last_name": "Chang",
            "profile_pic": "https://platform-lookaside.fbsbx.com/p",
            "id": PSID,
        },
        match=[
            matchers.query_param_matcher({"access_token": PAGE_TOKEN, "fields": "first_name,last_name,profile_pic"})
        ],
    )

    profile = messenger_graph.fetch_profile(PAGE_TOKEN, PSID)

    assert profile == MessengerProfile("Peter", "Chang", "https://platform-lookaside.fbsbx.com/p")
    assert profile.name == "Peter Chang"


@responses.activate
def test_send_text_inside_the_window_is_a_response():
    expect_send({"recipient": {"id": PSID}, "message": {"text": "Hi Peter"}, "messaging_type": "RESPONSE"})

    assert messenger_graph.send_text(PAGE_TOKEN, PAGE_ID, PSID, "Hi Peter") == "m_sent_1"


@responses.activate
def test_send_text_after_the_window_uses_the_human_agent_tag():
    expect_send(
        {
            "recipient": {"id": PSID},
            "message": {"text": "Sorry for the wait"},
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
        }
    )

    assert messenger_graph.send_text(PAGE_TOKEN, PAGE_ID, PSID, "Sorry for the wait", human_agent=True) == "m_sent_1"


def test_a_text_longer_than_messenger_allows_is_refused_before_sending():
    with pytest.raises(ValueError):
        messenger_graph.send_text(PAGE_TOKEN, PAGE_ID, PSID, "x" * 2001)


@responses.activate
def test_send_an_attachment_by_url():
    expect_send(
        {
            "recipient": {"id": PSID},
            "message": {"attachment": {"type": "file", "payload": {"url": "https://example.com/invoice.pdf"}}},
            "messaging_type": "RESPONSE",
        }
    )

    assert (
        messenger_graph.send_attachment(PAGE_TOKEN, PAGE_ID, PSID, "file", "https://example.com/invoice.pdf")
        == "m_sent_1"
    )


def test_an_unknown_attachment_kind_is_refused():
    with pytest.raises(ValueError):
        messenger_graph.send_attachment(PAGE_TOKEN, PAGE_ID, PSID, "template", "https://example.com")


@responses.activate
def test_react_and_unreact():
    expect_send(
        {
            "recipient": {"id": PSID},
            "sender_action": "react",
            "payload": {"message_id": "m_customer", "reaction": "love"},
        }
    )
    expect_send({"recipient": {"id": PSID}, "sender_action": "unreact", "payload": {"message_id": "m_customer"}})

    messenger_graph.send_reaction(PAGE_TOKEN, PAGE_ID, PSID, "m_customer")
    messenger_graph.remove_reaction(PAGE_TOKEN, PAGE_ID, PSID, "m_customer")

    assert len(responses.calls) == 2


@responses.activate
def test_outside_the_window_meta_answers_with_an_error():
    responses.post(
        SEND_URL,
        status=400,
        json={
            "error": {
                "message": "(#10) This message is sent outside of allowed window.",
                "type": "OAuthException",
                "code": 10,
                "error_subcode": 2018278,
                "fbtrace_id": "A1",
            }
        },
    )

    with pytest.raises(GraphError) as caught:
        messenger_graph.send_text(PAGE_TOKEN, PAGE_ID, PSID, "late")

    assert caught.value.outside_window
