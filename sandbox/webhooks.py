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
