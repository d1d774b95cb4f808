"""Meta's Send API: POST /{page-id}/messages with the Page token."""

from .graph import GraphClient

RESPONSE = "RESPONSE"
HUMAN_AGENT = "HUMAN_AGENT"


def send_message(page_token: str, page_id: str, recipient_id: str, message: dict, tag: str = "") -> str:
    """Send a text or attachment message; returns Meta's message id. Raises GraphError.

    `tag=HUMAN_AGENT` sends outside the 24-hour window (within 7 days), which
    needs Meta's Human Agent permission.
    """
    body = {"recipient": {"id": recipient_id}, "message": message}
    if tag:
        body.update(messaging_type="MESSAGE_TAG", tag=tag)
    else:
        body["messaging_type"] = RESPONSE
    answer = GraphClient(page_token).post(f"{page_id}/messages", json=body)
    return str(answer.get("message_id") or "")


def send_reaction(page_token: str, page_id: str, recipient_id: str, message_id: str, reaction: str = "love") -> str:
    """React to a customer's message (Meta shows every reaction as a heart)."""
    body = {
        "recipient": {"id": recipient_id},
        "sender_action": "react",
        "payload": {"message_id": message_id, "reaction": reaction},
    }
    answer = GraphClient(page_token).post(f"{page_id}/messages", json=body)
    return str(answer.get("message_id") or "")
