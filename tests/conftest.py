import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _reachable(url, default_port):
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def services_status():
    """Which of PostgreSQL and Redis this test run is configured for and can reach."""
    database = settings.DATABASES["default"]
    postgres = database["ENGINE"] == "django.db.backends.postgresql" and _reachable(
        f"postgres://{database.get('HOST') or '127.0.0.1'}:{database.get('PORT') or 5432}", 5432
    )
    broker = settings.CELERY_BROKER_URL
    redis = broker.startswith("redis://") and _reachable(broker, 6379)
    return {"postgres": postgres, "redis": redis}


def pytest_sessionstart(session):
    if not REQUIRE_SERVICES:
        return
    status = services_status()
    missing = [name for name, ok in status.items() if not ok]
    if missing:
        pytest.exit(
            f"REQUIRE_SERVICES=1 but {', '.join(missing)} unreachable: set DATABASE_URL=postgres://... and "
            "CELERY_BROKER_URL=redis://... and start the services.",
            returncode=3,
        )


def pytest_sessionfinish(session):
    """Delete this run's queues (their names are unique to it) so Redis does not collect them."""
    if not settings.configured or not settings.CELERY_BROKER_URL.startswith("redis://"):
        return
    if not services_status()["redis"]:
        return
    from config.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for name in worker_queues():
            channel.queue_purge(name)
            # kombu's Redis transport keeps each queue's bindings under these keys.
            channel.client.delete(f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")


@pytest.fixture
def services():
    """Skip (or, with REQUIRE_SERVICES=1, fail) a test that needs PostgreSQL and Redis."""
    status = services_status()
    if not all(status.values()):
        message = f"needs PostgreSQL and Redis, have {status}"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    return status


@pytest.fixture
def postgres():
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        if REQUIRE_SERVICES:
            pytest.fail("needs PostgreSQL")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def worker_env(extra=None):
    """Environment for a subprocess (worker, server) that uses the test database and broker."""
    from django.db import connection

    database = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.test_settings",
        DATABASE_URL=(
            f"postgres://{database['USER']}:{database.get('PASSWORD') or ''}@{database.get('HOST') or '127.0.0.1'}:"
            f"{database.get('PORT') or 5432}/{database['NAME']}"
        ),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        TEST_CELERY_QUEUE_PREFIX=settings.CELERY_QUEUE_PREFIX,
        PYTHONPATH=str(ROOT),
    )
    env.update(extra or {})
    return env


def worker_queues():
    """This test process's own queues (see CELERY_QUEUE_PREFIX in config/test_settings.py)."""
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    return sorted({settings.CELERY_TASK_DEFAULT_QUEUE} | routed)


def purge_queues():
    """Drop tasks an earlier test left in this process's queues."""
    from config.celery import app

    with app.connection_for_write() as connection:
        for name in worker_queues():
            connection.default_channel.queue_purge(name)


# Workers a test started; any still running after the test are stopped, so a
# test that fails half-way cannot leave a worker taking the next test's tasks.
_started_workers = []

WORKER_START_TIMEOUT = 90  # seconds: importing Django and Celery on a loaded CI machine


def start_worker(log_path, extra_env=None, pool="solo", concurrency=1):
    """Start a real `celery worker` on this test process's queues, database and broker.

    Returns once the worker has logged that it is ready (it consumes from then on)."""
    log_path.touch()
    ready_before = log_path.read_text().count(" ready.")
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", f"--queues={','.join(worker_queues())}"]
    command += [f"--pool={pool}", f"--concurrency={concurrency}", "--loglevel=INFO", "--without-gossip"]
    command += ["--without-mingle", "--hostname", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"]
    with log_path.open("a") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=worker_env(extra_env), stdout=log, stderr=subprocess.STDOUT)
    _started_workers.append(process)
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while log_path.read_text().count(" ready.") <= ready_before:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"Celery worker did not start within {WORKER_START_TIMEOUT} s:\n{log_path.read_text()}")
        time.sleep(0.2)
    return process


@pytest.fixture(autouse=True)
def _cache_of_its_own(settings, monkeypatch, request):
    """Each test its own cache namespace. A shared cache (Redis in CI) keeps allauth's
    sign-in rate limits and used TOTP codes between tests, so later browser tests were
    refused a sign-in only when the whole suite ran. Processes a test starts get the same
    namespace through the environment."""
    prefix = f"{os.environ.get('TEST_CACHE_KEY_PREFIX', 'test')}-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TEST_CACHE_KEY_PREFIX", prefix)
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "KEY_PREFIX": prefix}}
    yield


@pytest.fixture(autouse=True)
def _stop_leftover_workers():
    yield
    while _started_workers:
        process = _started_workers.pop()
        if process.poll() is None:
            stop_process(process)


def stop_process(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def celery_worker_process(services, transactional_db, tmp_path):
    """A real `celery worker` process on Redis and the test database."""
    purge_queues()
    process = start_worker(tmp_path / "worker.log")
    yield process
    stop_process(process)


def wait_for(predicate, timeout=15.0, interval=0.1, message="condition"):
    """Poll until predicate() is truthy (for work done by another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out waiting for {message}")


def totp_code_for(user):
    from inbox.demo import current_totp_code

    return current_totp_code(user)


@pytest.fixture
def admin_user(db):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from tests.factories import make_admin

    user = make_admin(email="admin@example.test")
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def admin_client(client, admin_user):
    """A client signed in as an admin who has set up two-factor authentication."""
    client.force_login(admin_user)
    return client
