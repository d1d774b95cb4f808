"""Stored WhatsApp and Messenger payloads (tests/fixtures/meta/whatsapp/, …/messenger/)."""

import json
from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "fixtures" / "meta"
WHATSAPP = FIXTURES / "whatsapp"
MESSENGER = FIXTURES / "messenger"


def load_whatsapp(name: str) -> dict:
    return json.loads((WHATSAPP / f"{name}.json").read_text())


def load_messenger(name: str) -> dict:
    return json.loads((MESSENGER / f"{name}.json").read_text())
