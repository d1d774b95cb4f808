"""Meta-shaped webhook deliveries that the sandbox posts to our own /webhooks/meta/."""

import json
import time
import uuid

import requests
from django.conf import settings

from channels_app.meta.signature import sign

from .demo_data import base_url


def now_ms() -> int:
    return int(time.time() * 1000)


def new_mid() -> str:
    return f"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUl{uuid.uuid4().hex}"


def delivery(ig_id: str, *messaging) -> dict:
    return {"object": "instagram", "entry": [{"id": ig_id, "time": now_ms(), "messaging": list(messaging)}]}


def from_customer(ig_id: str, igsid: str, **event) -> dict:
    return {"sender": {"id": igsid}, "recipient": {"id": ig_id}, "timestamp": now_ms(), **event}


def echo(ig_id: str, igsid: str, mid: str, text: str) -> dict:
    message = {"mid": mid, "is_echo": True}
    if text:
        message["text"] = text
    return delivery(
        ig_id, {"sender": {"id": ig_id}, "recipient": {"id": igsid}, "timestamp": now_ms(), "message": message}
    )


def read(ig_id: str, igsid: str, mid: str) -> dict:
    return delivery(ig_id, from_customer(ig_id, igsid, read={"mid": mid}))


# --- Messenger: `object: page`, the Page id on the entry ---------------------------


def page_delivery(page_id: str, *messaging) -> dict:
    return {"object": "page", "entry": [{"id": page_id, "time": now_ms(), "messaging": list(messaging)}]}


def messenger_echo(page_id: str, psid: str, mid: str, text: str) -> dict:
    """The Page's own message echoed back; `app_id` names the app that sent it (ours)."""
    message = {
        "mid": mid,
        "is_echo": True,
        "app_id": int(settings.META_APP_ID) if settings.META_APP_ID.isdigit() else settings.META_APP_ID,
    }
    if text:
        message["text"] = text
    return page_delivery(
        page_id, {"sender": {"id": page_id}, "recipient": {"id": psid}, "timestamp": now_ms(), "message": message}
    )


def messenger_delivered(page_id: str, psid: str, mid: str) -> dict:
    return page_delivery(page_id, from_customer(page_id, psid, delivery={"mids": [mid], "watermark": now_ms()}))


def messenger_read(page_id: str, psid: str) -> dict:
    # Messenger reports reads as a watermark: everything sent before it was read.
    return page_delivery(page_id, from_customer(page_id, psid, read={"watermark": now_ms()}))


# --- WhatsApp: `object: whatsapp_business_account`, the number in each change --------


def new_wamid() -> str:
    return f"wamid.HBgL{uuid.uuid4().hex.upper()}"


def whatsapp_delivery(waba_id: str, number: dict, **value) -> dict:
    metadata = {
        "display_phone_number": "".join(c for c in number["display_phone_number"] if c.isdigit()),
        "phone_number_id": number["id"],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {"value": {"messaging_product": "whatsapp", "metadata": metadata, **value}, "field": "messages"}
                ],
            }
        ],
    }


def whatsapp_message(waba_id: str, number: dict, person: dict, message: dict) -> dict:
    """A customer's message; `message` is its type's part, e.g. {"type": "text", "text": {"body": "Hi"}}."""
    return whatsapp_delivery(
        waba_id,
        number,
        contacts=[{"profile": {"name": person["name"]}, "wa_id": person["wa_id"]}],
        messages=[{"from": person["wa_id"], "timestamp": str(int(time.time())), **message}],
    )


# Meta's error details for the failures the sandbox plays (WhatsApp Cloud API error codes).
WHATSAPP_FAILURES = {
    "131047": {
        "code": 131047,
        "title": "Re-engagement message",
        "message": "Re-engagement message",
        "error_data": {
            "details": "Message failed to send because more than 24 hours have passed since the customer last "
            "replied to this number."
        },
    },
    "131026": {
        "code": 131026,
        "title": "Message undeliverable",
        "message": "Message undeliverable",
        "error_data": {"details": "Message Undeliverable."},
    },
}


def whatsapp_status(waba_id: str, number: dict, wamid: str, status: str, recipient: str, failure: str = "") -> dict:
    entry = {"id": wamid, "status": status, "timestamp": str(int(time.time())), "recipient_id": recipient}
    if status == "failed":
        entry["errors"] = [
            {
                **WHATSAPP_FAILURES[failure],
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    elif status in ("sent", "delivered"):
        entry["conversation"] = {"id": uuid.uuid4().hex, "origin": {"type": "service"}}
        entry["pricing"] = {"billable": False, "pricing_model": "PMP", "category": "service"}
    return whatsapp_delivery(waba_id, number, statuses=[entry])


def post(body: str) -> int:
    """POST a signed delivery to this installation's webhook, as Meta would. Returns the status."""
    response = requests.post(
        f"{base_url()}/webhooks/meta/",
        data=body.encode(),
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(body.encode(), settings.META_APP_SECRET),
        },
        timeout=10,
    )
    return response.status_code


def encode(payload: dict) -> str:
    return json.dumps(payload)
