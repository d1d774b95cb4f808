"""Write .env from .env.example with fresh secrets (run once by `make run`)."""

import secrets
from pathlib import Path

from_path = Path(__file__).resolve().parent.parent / ".env.example"
to_path = from_path.with_name(".env")

fernet_key = __import__("base64").urlsafe_b64encode(secrets.token_bytes(32)).decode()
filled = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEY": fernet_key,
    # The sandbox signs and verifies its webhooks with these: never public defaults.
    "META_APP_SECRET": secrets.token_urlsafe(32),
    "META_VERIFY_TOKEN": secrets.token_urlsafe(32),
}
lines = []
for line in from_path.read_text().splitlines():
    key = line.split("=", 1)[0]
    if key in filled and line.strip() == f"{key}=":
        line = f"{key}={filled[key]}"
    lines.append(line)
to_path.write_text("\n".join(lines) + "\n")
print(f"Wrote {to_path.name} with a fresh {', '.join(filled)}.")
