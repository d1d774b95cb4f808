"""allauth's sign-in limits hold across processes: its cache is shared, not per process."""

import json
import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import ROOT, _reachable
from tests.test_deploy_check import PRODUCTION_ENV

EMAIL = "target@example.test"
WRONG_PASSWORDS = 40
PROCESSES = 3
KEY_LIMIT = 5  # ACCOUNT_RATE_LIMITS["login_failed"]: 5 failed sign-ins per 5 minutes per email

SETUP = f"""
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from inbox.models import User
user = User.objects.create_user("{EMAIL}", "the-right-password-123")
TOTP.activate(user, generate_totp_secret())
"""

# One web process: tries its share of wrong passwords, then the one current TOTP code,
# all at the same frozen moment as its siblings (so they share one TOTP period).
ATTACKER = f"""
import json, os, sys
import time_machine
with time_machine.travel(float(os.environ["AT"]), tick=False):
    import django
    django.setup()
    from allauth.account.adapter import get_adapter
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import ValidationError
    from django.test import RequestFactory
    from inbox.demo import current_totp_code
    from inbox.models import User

    # A real check is an attempt that reached the password hash (each backend checks it once).
    hashed, checks = [], 0
    check_password = User.check_password
    User.check_password = lambda user, raw: hashed.append(1) or check_password(user, raw)
    for attempt in range(int(sys.argv[1])):
        request = RequestFactory().post("/accounts/login/", HTTP_HOST="support.example.com")
        request.META["REMOTE_ADDR"] = f"10.0.{{os.getpid() % 250}}.{{attempt}}"
        request.user, request.session = AnonymousUser(), {{}}
        hashed.clear()
        try:
            get_adapter(request).authenticate(request, email="{EMAIL}", password=f"wrong-{{attempt}}")
        except ValidationError:
            pass
        checks += bool(hashed)
    user = User.objects.get(email="{EMAIL}")
    totp = TOTP(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP))
    print(json.dumps({{"checks": checks, "totp_accepted": totp.validate_code(current_totp_code(user))}}))
"""


def _env(tmp_path, extra):
    return {
        **PRODUCTION_ENV,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def _run_attack(env):
    subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    env = {**env, "AT": str(time.time())}
    shares = [WRONG_PASSWORDS // PROCESSES + (1 if i < WRONG_PASSWORDS % PROCESSES else 0) for i in range(PROCESSES)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", ATTACKER, str(share)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _backends():
    redis = "redis://127.0.0.1:6379/1"
    return [
        pytest.param({}, id="database-cache"),
        pytest.param(
            {"CACHE_URL": redis, "TEST_CACHE_KEY_PREFIX": uuid.uuid4().hex},
            id="redis-cache",
            marks=pytest.mark.skipif(not _reachable(redis, 6379), reason="needs Redis on 127.0.0.1:6379"),
        ),
    ]


@pytest.fixture(scope="module", params=_backends())
def attack(request, tmp_path_factory):
    """Three web processes on one database (and one cache), each with its share of 40 wrong passwords."""
    return _run_attack(_env(tmp_path_factory.mktemp("shared-cache"), request.param))


@pytest.mark.slow
def test_wrong_passwords_across_processes_get_no_more_real_checks_than_the_limit(attack):
    assert sum(result["checks"] for result in attack) <= KEY_LIMIT, attack


@pytest.mark.slow
def test_one_totp_code_is_accepted_once_across_processes(attack):
    assert sum(result["totp_accepted"] for result in attack) == 1, attack


PRINT_CACHE = "import django; django.setup(); from django.conf import settings; print(settings.CACHES['default'])"


@pytest.mark.parametrize(
    ("extra", "backend", "location"),
    [
        ({}, "django.core.cache.backends.db.DatabaseCache", "cache_table"),
        (
            {"CELERY_BROKER_URL": "redis://broker.internal:6379/0"},
            "django.core.cache.backends.redis.RedisCache",
            "redis://broker.internal:6379/1",
        ),
        (
            {"CELERY_BROKER_URL": "redis://broker.internal:6379/0", "REDIS_URL": "redis://cache.internal:6379/3"},
            "django.core.cache.backends.redis.RedisCache",
            "redis://cache.internal:6379/3",
        ),
        ({"CACHE_URL": "redis://cache.internal:6379/2"}, "django.core.cache.backends.redis.RedisCache", None),
    ],
)
def test_production_uses_a_shared_cache(tmp_path, extra, backend, location):
    result = subprocess.run(
        [sys.executable, "-c", PRINT_CACHE], cwd=ROOT, env=_env(tmp_path, extra), capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert f"'BACKEND': '{backend}'" in result.stdout
    assert f"'LOCATION': '{location or extra.get('CACHE_URL')}'" in result.stdout
