import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import ROOT

# As after `collectstatic`: check --deploy refuses a STATIC_ROOT without the manifest.
COLLECTED_STATIC_ROOT = Path(tempfile.mkdtemp(prefix="deploy-check-static-"))
(COLLECTED_STATIC_ROOT / "staticfiles.json").write_text(json.dumps({"paths": {}, "version": "1.1"}))

PRODUCTION_ENV = {
    "ENV_FILE": "",
    "DEBUG": "false",
    "SECRET_KEY": "a-production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH",
    "FIELD_ENCRYPTION_KEY": "q0ZC6j2J7y5tG7Q0rL1uQ3WcY9s8m2n4b6v8x0z2A4E=",
    "ALLOWED_HOSTS": "support.example.com",
    "SITE_URL": "https://support.example.com",
    "META_SANDBOX": "false",
    "META_APP_ID": "1234",
    "META_APP_SECRET": "app-secret",
    "META_VERIFY_TOKEN": "verify-token",
    "DATABASE_URL": "sqlite:////tmp/deploy-check.sqlite3",
    "STATIC_ROOT": str(COLLECTED_STATIC_ROOT),
    "PATH": "/usr/bin:/bin",
}


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_an_encryption_key():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "FIELD_ENCRYPTION_KEY"}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be set" in result.stderr


def test_the_sandbox_is_refused_with_debug_off():
    result = _manage("check", env={**PRODUCTION_ENV, "META_SANDBOX": "true"})

    assert result.returncode != 0
    assert "META_SANDBOX_FORCE" in result.stderr
