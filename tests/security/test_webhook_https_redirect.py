"""The webhook is exempt from the HTTPS redirect only when the operator sets WEBHOOK_ALLOW_HTTP."""

import subprocess
import sys

import pytest
from django.test import override_settings

from tests.conftest import ROOT

PRODUCTION_ENV = {
    "ENV_FILE": "",
    "DEBUG": "false",
    "SECRET_KEY": "a-production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH",
    "FIELD_ENCRYPTION_KEY": "q0ZC6j2J7y5tG7Q0rL1uQ3WcY9s8m2n4b6v8x0z2A4E=",
    "META_SANDBOX": "false",
    "SITE_URL": "https://support.example.com",
    "DATABASE_URL": "sqlite:////tmp/redirect-exempt.sqlite3",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "PATH": "/usr/bin:/bin",
}


def redirect_exempt(**env):
    """SECURE_REDIRECT_EXEMPT as production settings compute it from this environment."""
    code = "from django.conf import settings; print(settings.SECURE_REDIRECT_EXEMPT)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**PRODUCTION_ENV, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_webhook_is_not_exempt_by_default():
    assert redirect_exempt() == "[]"


def test_the_operator_can_exempt_the_webhook():
    assert redirect_exempt(WEBHOOK_ALLOW_HTTP="true") == "['^webhooks/']"


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True)
def test_a_webhook_over_plain_http_is_redirected_to_https(client):
    response = client.post("/webhooks/meta/", data="{}", content_type="application/json")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/webhooks/meta/"
