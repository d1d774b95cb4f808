"""Stored Meta webhook payloads (tests/fixtures/meta/) and signed posting."""

import json
from pathlib import Path

from django.conf import settings

from channels_app.meta.signature import sign

FIXTURES = Path(__file__).parent / "fixtures" / "meta"
IG_ACCOUNT_ID = "17841400000000001"
CUSTOMER_IGSID = "1234567890123456"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def post_webhook(client, payload, secret=None, signature=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature or sign(body, secret or settings.META_APP_SECRET)}
    return client.post("/webhooks/meta/", data=body, content_type="application/json", **headers)
