"""Settings for the test suite: the production settings with fixed test secrets.

DATABASE_URL and CELERY_BROKER_URL come from the environment (CI points them at
PostgreSQL and Redis); without them the suite uses SQLite and an in-memory broker.
"""

import os
import secrets
import time

_TEST_ENV = {
    "ENV_FILE": "",
    "SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdefghijklmnopqrstuvwxyz",
    "DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "FIELD_ENCRYPTION_KEY": "q0ZC6j2J7y5tG7Q0rL1uQ3WcY9s8m2n4b6v8x0z2A4E=",
    "META_SANDBOX": "true",
    "META_SANDBOX_FORCE": "true",
    "META_APP_ID": "test-app-id",
    "META_APP_SECRET": "test-app-secret",
    "META_VERIFY_TOKEN": "test-verify-token",
    "META_GRAPH_URL": "https://graph.facebook.com",
    "META_LOGIN_URL": "https://www.facebook.com",
    "META_GRAPH_VERSION": "v23.0",
    "TWILIO_API_BASE": "https://api.twilio.com",
    "SITE_URL": "http://testserver",
    "ALLOWED_HOSTS": "*",
    "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL") or "memory://",
    "LOG_LEVEL": "WARNING",
    # Queues of this test process alone: earlier runs, other test processes (xdist,
    # other CI jobs) and dev workers on the same Redis never take or leave its tasks.
    # The processes a test starts get the same names through TEST_CELERY_QUEUE_PREFIX.
    "CELERY_QUEUE_PREFIX": os.environ.get("TEST_CELERY_QUEUE_PREFIX") or f"test-{os.getpid()}-{secrets.token_hex(4)}.",
}
# Processes a test starts (a Celery worker beside a live server) pass the live
# server's address as TEST_SITE_URL, TEST_META_GRAPH_URL and TEST_META_LOGIN_URL (the Email journey: its
# receiver's TEST_MAIL_RECEIVER_HOST/PORT and its outbox directory, TEST_EMAIL_FILE_PATH).
for _key in (
    "SITE_URL",
    "META_GRAPH_URL",
    "META_LOGIN_URL",
    "TWILIO_API_BASE",
    "MAIL_RECEIVER_HOST",
    "MAIL_RECEIVER_PORT",
    "EMAIL_FILE_PATH",
):
    if os.environ.get(f"TEST_{_key}"):
        _TEST_ENV[_key] = os.environ[f"TEST_{_key}"]
for _key, _value in _TEST_ENV.items():
    os.environ[_key] = _value

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
MEDIA_ROOT = VAR_DIR / "test-media"  # noqa: F405
# Tests change Rules and schedules with queryset updates too: read them fresh every time
# (tests/performance sets it back to measure the cached path).
RULES_CACHE_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
# Serve static files straight from the app folders (no collectstatic in tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# With Redis the cache outlives the run and is shared by xdist workers: a prefix
# per run (inherited by the processes a test starts) keeps sign-in rate limits
# of one run from leaking into the next.
CACHES["default"]["KEY_PREFIX"] = os.environ.setdefault("TEST_CACHE_KEY_PREFIX", f"test-{os.getpid()}-{time.time_ns()}")  # noqa: F405
# One process: sockets and tests share the in-memory layer (the e2e tests switch
# to the database layer, which is what `make run` uses).
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: Django's live server would otherwise share the test's one in-memory connection
    # with every request thread, and two requests at once (a poll and a reply) break each other's
    # transaction. With a file each thread has its own connection, as in `make run`. pytest-xdist adds
    # the worker's name to it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405
