"""The Meta sandbox: nobody signs webhooks or sends as a Page with public values, and off means absent."""

import json
import shutil
import subprocess
import sys

import pytest
from django.test import override_settings

from config.checks import sandbox_in_production, sandbox_with_debug_off
from sandbox import demo_data
from sandbox.models import SandboxSend
from tests.conftest import ROOT
from tests.factories import make_admin, make_entry_point, make_inbox, make_instagram_account, make_user
from tests.test_deploy_check import PRODUCTION_ENV, _manage

SHOES_PAGE, SHOES_IG = "100000000000001", "17841400000000001"
OUTLET_PAGE, OUTLET_IG = "100000000000002", "17841400000000002"
SEND_URL = f"/sandbox/meta/graph/v23.0/{SHOES_PAGE}/messages"
A_CUSTOMER = "5100000000000001"


def _send(client, token):
    return client.post(
        f"{SEND_URL}?access_token={token}",
        json.dumps({"recipient": {"id": A_CUSTOMER}, "message": {"text": "pay here: https://evil.example"}}),
        content_type="application/json",
    )


# --- The Graph stand-in accepts only the tokens it issued ---------------------


@pytest.mark.parametrize(
    "token", [f"sandbox-page-token-{SHOES_PAGE}", f"sandbox-page-token-{SHOES_PAGE}-{'0' * 32}", "anything"]
)
def test_a_guessed_page_token_gets_metas_oauth_error(client, db, token):
    response = _send(client, token)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 190
    assert response.json()["error"]["type"] == "OAuthException"
    assert not SandboxSend.objects.exists()


def test_the_page_token_the_sandbox_issued_sends(client, db):
    response = _send(client, demo_data.page_token(SHOES_PAGE))

    assert response.status_code == 200
    assert SandboxSend.objects.get().page_id == SHOES_PAGE


def test_the_issued_page_token_depends_on_the_secret_key(settings):
    token = demo_data.page_token(SHOES_PAGE)
    settings.SECRET_KEY = "another-installation-" + "x" * 40

    assert demo_data.page_token(SHOES_PAGE) != token


# --- What was sent and the customer simulator: signed-in users, their inboxes --


@pytest.fixture
def two_accounts(db):
    """Acme Shoes feeds the Shoes inbox (the Messaging default), Acme Outlet the Outlet inbox (an Exception)."""
    from channels_app.models import RoutingException

    shoes_inbox = make_inbox("Shoes", default=True)
    outlet_inbox = make_inbox("Outlet")
    shoes = make_instagram_account(make_entry_point(external_id=SHOES_IG), page_id=SHOES_PAGE, page_name="Acme Shoes")
    outlet = make_instagram_account(
        make_entry_point(external_id=OUTLET_IG), page_id=OUTLET_PAGE, page_name="Acme Outlet"
    )
    RoutingException.objects.create(entry_point=outlet.entry_point, inbox=outlet_inbox)
    SandboxSend.objects.create(page_id=SHOES_PAGE, recipient_id=A_CUSTOMER, message_id="m-shoes", kind="text", text="S")
    SandboxSend.objects.create(
        page_id=OUTLET_PAGE, recipient_id=A_CUSTOMER, message_id="m-outlet", kind="text", text="secret outlet reply"
    )
    return {"shoes": (shoes, shoes_inbox), "outlet": (outlet, outlet_inbox)}


def test_what_was_sent_needs_a_signed_in_user(client, two_accounts):
    response = client.get("/sandbox/meta/sent.json")

    assert response.status_code == 302
    assert b"secret outlet reply" not in response.content


def test_an_agent_sees_only_what_was_sent_from_their_inboxes(client, two_accounts):
    agent = make_user()
    two_accounts["shoes"][1].memberships.create(user=agent)
    client.force_login(agent)

    sent = client.get("/sandbox/meta/sent.json").json()

    assert [s["mid"] for s in sent] == ["m-shoes"]


def test_an_admin_sees_everything_sent(client, two_accounts):
    client.force_login(make_admin())

    sent = client.get("/sandbox/meta/sent.json").json()

    assert {s["mid"] for s in sent} == {"m-shoes", "m-outlet"}


def test_the_simulator_shows_an_agent_only_threads_of_their_inboxes(client, two_accounts):
    agent = make_user()
    two_accounts["shoes"][1].memberships.create(user=agent)
    client.force_login(agent)

    other = client.get("/sandbox/meta/customer/", {"account": OUTLET_IG, "customer": A_CUSTOMER})
    own = client.get("/sandbox/meta/customer/", {"account": SHOES_IG, "customer": A_CUSTOMER})

    assert b"secret outlet reply" not in other.content
    assert b"Acme Outlet" not in other.content
    assert [a.page_id for a in own.context["accounts"]] == [SHOES_PAGE]


def test_an_agent_cannot_play_a_customer_of_another_inbox(client, two_accounts):
    client.force_login(make_user())  # in no inbox

    response = client.post(
        f"/sandbox/meta/customer/act/?account={OUTLET_IG}&customer={A_CUSTOMER}", {"action": "text", "text": "hi"}
    )

    assert response.status_code == 400


def test_the_simulator_shows_an_admin_every_account(client, two_accounts):
    client.force_login(make_admin())

    response = client.get("/sandbox/meta/customer/", {"account": OUTLET_IG, "customer": A_CUSTOMER})

    assert {a.page_id for a in response.context["accounts"]} == {SHOES_PAGE, OUTLET_PAGE}
    assert b"secret outlet reply" in response.content


# --- Off means absent ---------------------------------------------------------

SANDBOX_OFF_PROBE = """
import sys
import django
django.setup()
from django.conf import settings
from django.urls import Resolver404, resolve
import config.urls, inbox.demo
for path in ["/sandbox/meta/sent.json", "/sandbox/meta/customer/", "/sandbox/meta/graph/v23.0/1/messages"]:
    try:
        resolve(path)
    except Resolver404:
        continue
    sys.exit(f"{path} is routable with the sandbox off")
assert "sandbox" not in settings.INSTALLED_APPS, settings.INSTALLED_APPS
assert not [name for name in sys.modules if name.split(".")[0] == "sandbox"], "the sandbox was imported"
print("sandbox absent")
"""


def _python(code, env):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_with_the_sandbox_off_its_urls_app_and_code_are_absent():
    result = _python(SANDBOX_OFF_PROBE, {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings"})

    assert result.returncode == 0, result.stdout + result.stderr
    assert "sandbox absent" in result.stdout


@pytest.mark.slow
def test_with_the_sandbox_off_migrations_and_the_demo_still_work(tmp_path):
    env = {**PRODUCTION_ENV, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}

    migrate = _manage("migrate", "--noinput", env=env)
    seed = _manage("seed_demo", env=env)

    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert seed.returncode == 0, seed.stdout + seed.stderr


# --- No public secrets ----------------------------------------------------------

SANDBOX_DEV_ENV = {**PRODUCTION_ENV, "DEBUG": "true", "META_SANDBOX": "true"}


@pytest.mark.parametrize("missing", ["META_APP_SECRET", "META_VERIFY_TOKEN"])
def test_the_sandbox_refuses_to_start_without_its_own_secrets(missing):
    env = {key: value for key, value in SANDBOX_DEV_ENV.items() if key != missing}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "META_SANDBOX=true needs META_APP_SECRET and META_VERIFY_TOKEN" in result.stderr


def test_the_sandbox_starts_with_its_own_secrets():
    result = _manage("check", env=SANDBOX_DEV_ENV)

    assert result.returncode == 0, result.stdout + result.stderr


def test_make_env_writes_random_meta_secrets(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "make_env.py", tmp_path / "scripts")
    shutil.copy(ROOT / ".env.example", tmp_path)

    written = []
    for _ in range(2):
        subprocess.run([sys.executable, str(tmp_path / "scripts" / "make_env.py")], check=True, capture_output=True)
        values = dict(line.split("=", 1) for line in (tmp_path / ".env").read_text().splitlines() if "=" in line)
        written.append(values)
        (tmp_path / ".env").unlink()

    for key in ("META_APP_SECRET", "META_VERIFY_TOKEN"):
        assert len(written[0][key]) >= 32
        assert written[0][key] != written[1][key]


# --- System checks ------------------------------------------------------------


def test_the_sandbox_with_debug_off_is_a_warning():
    with override_settings(META_SANDBOX=True, DEBUG=False):
        assert [m.id for m in sandbox_with_debug_off(None)] == ["support.W002"]
    with override_settings(META_SANDBOX=True, DEBUG=True):
        assert sandbox_with_debug_off(None) == []
    with override_settings(META_SANDBOX=False, DEBUG=False):
        assert sandbox_with_debug_off(None) == []


def test_the_sandbox_is_an_error_for_check_deploy():
    with override_settings(META_SANDBOX=True):
        assert [m.id for m in sandbox_in_production(None)] == ["support.E002"]
    with override_settings(META_SANDBOX=False):
        assert sandbox_in_production(None) == []


def test_check_deploy_fails_with_the_forced_sandbox():
    env = {**PRODUCTION_ENV, "META_SANDBOX": "true", "META_SANDBOX_FORCE": "true"}

    plain = _manage("check", env=env)
    deploy = _manage("check", "--deploy", env=env)

    assert plain.returncode == 0 and "support.W002" in plain.stderr + plain.stdout
    assert deploy.returncode != 0 and "support.E002" in deploy.stderr
