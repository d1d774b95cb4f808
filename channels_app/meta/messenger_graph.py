"""Facebook Messenger calls for a Page, through the Graph client in graph.py.

Send API: `POST /{page-id}/messages` with the Page token; `messaging_type`
RESPONSE inside the 24-hour window after the customer's last message, or
MESSAGE_TAG + HUMAN_AGENT up to 7 days (needs Meta's Human Agent permission).
Shapes: Messenger Platform "Send API" and "User Profile API" references.
"""

from dataclasses import dataclass

from .graph import GraphClient

RESPONSE = "RESPONSE"
MESSAGE_TAG = "MESSAGE_TAG"
HUMAN_AGENT = "HUMAN_AGENT"
ATTACHMENT_KINDS = ("image", "video", "audio", "file")
MAX_TEXT_LENGTH = 2000  # Send API: text messages are at most 2000 characters


@dataclass(frozen=True)
class MessengerProfile:
    first_name: str
    last_name: str
    picture_url: str  # a CDN address that expires: download it soon

    @property
    def name(self):
        return " ".join(part for part in (self.first_name, self.last_name) if part)


def fetch_profile(page_token: str, psid: str) -> MessengerProfile:
    """GET /{PSID}?fields=first_name,last_name,profile_pic. Raises GraphError."""
    data = GraphClient(page_token).get(psid, fields="first_name,last_name,profile_pic")
    return MessengerProfile(
        first_name=str(data.get("first_name") or ""),
        last_name=str(data.get("last_name") or ""),
        picture_url=str(data.get("profile_pic") or ""),
    )


def _send(page_token: str, page_id: str, body: dict) -> str:
    answer = GraphClient(page_token).post(f"{page_id}/messages", json=body)
    return str(answer.get("message_id") or "")


def _message_body(psid: str, message: dict, human_agent: bool) -> dict:
    body = {"recipient": {"id": psid}, "message": message}
    if human_agent:
        body.update(messaging_type=MESSAGE_TAG, tag=HUMAN_AGENT)
    else:
        body["messaging_type"] = RESPONSE
    return body


def send_text(page_token: str, page_id: str, psid: str, text: str, human_agent: bool = False) -> str:
    """Send a text; returns Meta's message id (mid). Raises GraphError.

    `human_agent=True` sends with the HUMAN_AGENT tag, for replies 24 h to 7 days after the customer's last message.
    """
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"Messenger texts are at most {MAX_TEXT_LENGTH} characters.")
    return _send(page_token, page_id, _message_body(psid, {"text": text}, human_agent))


def send_attachment(page_token: str, page_id: str, psid: str, kind: str, url: str, human_agent: bool = False) -> str:
    """Send an image / video / audio / file that Meta downloads from `url`; returns the mid."""
    if kind not in ATTACHMENT_KINDS:
        raise ValueError(f"Messenger cannot send an attachment of kind {kind!r}.")
    message = {"attachment": {"type": kind, "payload": {"url": url}}}
    return _send(page_token, page_id, _message_body(psid, message, human_agent))


def send_reaction(page_token: str, page_id: str, psid: str, message_id: str, reaction: str = "love") -> str:
    """React to the customer's message `message_id` (Meta shows every reaction as a heart)."""
    body = {
        "recipient": {"id": psid},
        "sender_action": "react",
        "payload": {"message_id": message_id, "reaction": reaction},
    }
    return _send(page_token, page_id, body)


def remove_reaction(page_token: str, page_id: str, psid: str, message_id: str) -> str:
    body = {"recipient": {"id": psid}, "sender_action": "unreact", "payload": {"message_id": message_id}}
    return _send(page_token, page_id, body)
