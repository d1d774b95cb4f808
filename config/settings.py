"""Settings for the support app.

Every value comes from the environment (or a `.env` file beside manage.py, which
`make run` writes on first start). `.env.example` documents each variable.
Defaults are the embedded ones: SQLite and Celery's filesystem broker under
`var/`, and the Meta sandbox.
"""

import base64
import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from .beat import BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# Variables already in the environment win over .env. ENV_FILE="" reads none
# (the test suite does that so a developer's .env cannot change it).
ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE, overwrite=False)


def env_or(name, default):
    """The variable's value, or `default` when it is unset or empty (as in .env.example)."""
    return env(name, default="") or default


DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env_or("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-debug"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = [origin for origin in env.list("CSRF_TRUSTED_ORIGINS", default=[]) if origin]
# Public base URL of this installation: used for the OAuth redirect URI and the
# webhook URL shown to admins. Empty means "build it from the request".
SITE_URL = env_or("SITE_URL", "").rstrip("/")
if not SITE_URL and not DEBUG:
    # Emails sent by workers (e.g. "reauthorize this account") link back here; no request to build it from.
    raise ImproperlyConfigured("SITE_URL must be set when DEBUG is off, e.g. https://support.example.com.")

INSTALLED_APPS = [
    "config.apps.ProjectConfig",
    "config.apps.SettingsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "inbox",
    "channels_app",
    "channels_app.meta",
    "channels_app.mail",
    "channels_app.telephony",
    "channels_app.chat",
    "conversations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.static_files.StreamingWhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

# Benchmarks swap in bench.urls (the app plus baseline views); nothing else should.
ROOT_URLCONF = env_or("ROOT_URLCONF", "config.urls")
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# Widgets render through TEMPLATES, so templates/admin/widgets/ can drop the admin's
# edit / add / delete icons beside every related-object select.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.product",
                "channels_app.meta.context_processors.account_banners",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db_url_config(env_or("DATABASE_URL", f"sqlite:///{VAR_DIR / 'app.sqlite3'}")),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while a writer commits; IMMEDIATE takes the write
    # lock at BEGIN so two writers queue on the busy timeout instead of failing
    # with "database is locked" halfway through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif env.bool("DATABASE_POOL", default=False):
    # The ASGI web process (config/asgi.py): one pool for the process, connections lent per request.
    # Persistent connections there would belong to whichever executor thread ran the request and
    # pile up (Django ticket #33497); opening one per request made PostgreSQL start a backend
    # process for every webhook and page fetch.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env.int("DATABASE_POOL_SIZE", default=10),
        "timeout": 10,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users and sign-in ----------------------------------------------------
AUTH_USER_MODEL = "inbox.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "inbox.adapters.InvitationOnlyAccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
# allauth's defaults already limit failed logins; keep them explicit so a
# reader sees they are on.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="Support inbox")

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------
STATIC_URL = "static/"
# `collectstatic` fills it; production refuses to pass `check --deploy` until it has.
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Celery ---------------------------------------------------------------
CELERY_BROKER_URL = env_or("CELERY_BROKER_URL", "filesystem://localhost//")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Without this kombu writes its exchange files to ./control/ wherever the process starts.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Fail fast when the broker is down: the webhook must still answer 200.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "socket_timeout": 2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The periodic safety nets (sweepers, re-kicks); without this line beat runs nothing.
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE
# Calls to Meta's CDN and profile API can be slow or failing for minutes; they
# get their own queue so they never hold up webhook processing and sends.
# CELERY_QUEUE_PREFIX keeps processes that share one Redis (test runs, CI jobs)
# from taking each other's tasks; workers then consume the prefixed names.
CELERY_QUEUE_PREFIX = env_or("CELERY_QUEUE_PREFIX", "")
CELERY_TASK_DEFAULT_QUEUE = f"{CELERY_QUEUE_PREFIX}celery"
CELERY_TASK_ROUTES = {
    "channels_app.tasks.fetch_customer_profile": {"queue": f"{CELERY_QUEUE_PREFIX}media"},
    "channels_app.tasks.download_attachment": {"queue": f"{CELERY_QUEUE_PREFIX}media"},
}
CELERY_TIMEZONE = "UTC"

# --- Cache ----------------------------------------------------------------
# Shared by every web process: allauth keeps its sign-in rate limits and its
# "each TOTP code once" record here; a per-process cache would multiply both
# by the number of processes. Redis when there is one (the broker's server, db
# 1), else a table in the database (created by inbox's migration 0003).
CACHE_URL = env_or("CACHE_URL", "") or env_or("REDIS_URL", "")
if not CACHE_URL and CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CACHE_URL = urlunsplit(urlsplit(CELERY_BROKER_URL)._replace(path="/1"))
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_table"}}

# --- Live updates (WebSockets) ------------------------------------------
# Redis when there is one (CHANNEL_LAYER_URL, else REDIS_URL, else the broker's
# server), with a key prefix of its own. Without Redis the web process and the
# worker are separate processes, so events cross through the database
# (conversations.live.layers.DatabaseChannelLayer); the in-memory layer is for tests only.
CHANNEL_LAYER_URL = env_or("CHANNEL_LAYER_URL", "") or env_or("REDIS_URL", "")
if not CHANNEL_LAYER_URL and CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CHANNEL_LAYER_URL = urlunsplit(urlsplit(CELERY_BROKER_URL)._replace(path="/2"))
if CHANNEL_LAYER_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # Each process waits for its sockets' messages with a 5 s BZPOPMIN; redis-py's default
                # read timeout is also 5 s, so a quiet layer raised TimeoutError and closed a socket
                # every few seconds. The read timeout must outlast the blocking wait.
                "hosts": [{"address": CHANNEL_LAYER_URL, "socket_timeout": 15}],
                "prefix": env_or("CHANNEL_LAYER_PREFIX", "support-live"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "conversations.live.layers.DatabaseChannelLayer"}}

# --- Chat Channel --------------------------------------------------------
CHAT_MESSAGE_MAX_CHARS = int(env_or("CHAT_MESSAGE_MAX_CHARS", 2000))
CHAT_ATTACHMENT_MAX_BYTES = int(env_or("CHAT_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024))
# Messages (and uploads) a visitor, and an IP address, may send per minute.
CHAT_RATE_PER_VISITOR = int(env_or("CHAT_RATE_PER_VISITOR", 20))
CHAT_RATE_PER_IP = int(env_or("CHAT_RATE_PER_IP", 60))

# --- Secrets at rest ------------------------------------------------------
FIELD_ENCRYPTION_KEY = env_or("FIELD_ENCRYPTION_KEY", "")
if not FIELD_ENCRYPTION_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be set when DEBUG is off "
            '(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())").'
        )
    FIELD_ENCRYPTION_KEY = base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()

# --- Meta (Instagram Messaging) ------------------------------------------
META_SANDBOX = env.bool("META_SANDBOX", default=False)
META_SANDBOX_FORCE = env.bool("META_SANDBOX_FORCE", default=False)
# What `seed_demo` loads besides users and inboxes: the sandboxes' accounts and conversations.
DEMO_SEEDERS = ["sandbox.demo.seed", "sandbox.email_demo.seed", "sandbox.chat_site.seed"] if META_SANDBOX else []
# How long a worker keeps the active Rules and Business Hours before reading them again
# (conversations.configuration); a change made in Settings applies everywhere within it.
RULES_CACHE_SECONDS = env.int("RULES_CACHE_SECONDS", default=5)
if META_SANDBOX and not DEBUG and not META_SANDBOX_FORCE:
    raise ImproperlyConfigured(
        "META_SANDBOX=true serves a fake Facebook Login and Graph API; it is refused "
        "with DEBUG off. Set META_SANDBOX_FORCE=true if you really mean it."
    )
# Off, the sandbox is not installed at all: no models, no URLs, no code loaded.
if META_SANDBOX:
    INSTALLED_APPS.append("sandbox")
META_APP_ID = env_or("META_APP_ID", "sandbox-app" if META_SANDBOX else "")
# No public fallbacks: whoever knows the app secret can sign webhooks, even the
# sandbox's. `scripts/make_env.py` writes random ones into .env.
META_APP_SECRET = env_or("META_APP_SECRET", "")
META_VERIFY_TOKEN = env_or("META_VERIFY_TOKEN", "")
if META_SANDBOX and not (META_APP_SECRET and META_VERIFY_TOKEN):
    raise ImproperlyConfigured(
        "META_SANDBOX=true needs META_APP_SECRET and META_VERIFY_TOKEN (any long random strings; they sign "
        "and verify the sandbox's webhooks). Add them to .env, e.g. with "
        '`python -c "import secrets; print(secrets.token_urlsafe(32))"`, or remove .env and run `make run`, '
        "which writes a fresh one."
    )
META_GRAPH_VERSION = env_or("META_GRAPH_VERSION", "v23.0")
# With the sandbox these point at our own /sandbox/meta/ pages; SITE_URL (or
# http://127.0.0.1:8000) is the base.
_sandbox_base = (SITE_URL or "http://127.0.0.1:8000") + "/sandbox/meta"
META_GRAPH_URL = env_or(
    "META_GRAPH_URL", f"{_sandbox_base}/graph" if META_SANDBOX else "https://graph.facebook.com"
).rstrip("/")
META_LOGIN_URL = env_or(
    "META_LOGIN_URL", f"{_sandbox_base}/dialog" if META_SANDBOX else "https://www.facebook.com"
).rstrip("/")
META_HTTP_TIMEOUT = env.float("META_HTTP_TIMEOUT", default=10.0)
# Hosts (and their subdomains) media URLs in webhooks may point at; anything
# else is refused so a forged payload cannot make us fetch internal addresses.
META_MEDIA_HOSTS = [host.strip().lower() for host in env.list("META_MEDIA_HOSTS", default=[]) if host.strip()] or [
    "fbcdn.net",
    "fbsbx.com",
    "cdninstagram.com",
    "facebook.com",
    "lookaside.fbsbx.com",
    "whatsapp.net",
]
META_WEBHOOK_MAX_BYTES = env.int("META_WEBHOOK_MAX_BYTES", default=1_048_576)
# Meta's deliveries nest about 8 deep; deeper bodies are refused before json.loads
# (which recurses) and before storing (the admin page renders the body recursively).
META_WEBHOOK_MAX_DEPTH = env.int("META_WEBHOOK_MAX_DEPTH", default=64)
# How often the workers' drainer looks for stored deliveries to hand over (channels_app/meta/dispatch.py):
# the most a delivery waits between being stored and being published to the workers.
META_WEBHOOK_DRAIN_INTERVAL = env.float("META_WEBHOOK_DRAIN_INTERVAL", default=0.05)
# Off for a worker that must not hand deliveries over (the drainer of another worker still does).
META_WEBHOOK_DRAIN = env.bool("META_WEBHOOK_DRAIN", default=True)

INSTAGRAM_SEND_LIMIT = env.int("INSTAGRAM_SEND_LIMIT", default=200)
# Sends one drain may keep in flight at once, each to a different customer (PostgreSQL only; each
# takes a database connection of its own). 4 rather than 1: bursts 2-5x shorter and workers busy
# less than half as long in bench/limiter.py, so continuations due together wait less (docs/benchmarks.md).
OUTBOUND_SENDS_IN_FLIGHT = env.int("OUTBOUND_SENDS_IN_FLIGHT", default=4)
# How long a signed link to a file an agent sent stays valid (providers fetch it when sending).
PUBLIC_FILE_URL_SECONDS = env.int("PUBLIC_FILE_URL_SECONDS", default=24 * 60 * 60)
INSTAGRAM_SEND_WINDOW_SECONDS = env.int("INSTAGRAM_SEND_WINDOW_SECONDS", default=300)
# Messenger's Send API: 300 calls per second per Page for text and links (Meta's documented limit).
MESSENGER_SEND_LIMIT = env.int("MESSENGER_SEND_LIMIT", default=300)
MESSENGER_SEND_WINDOW_SECONDS = env.int("MESSENGER_SEND_WINDOW_SECONDS", default=1)
# WhatsApp Cloud API throughput per business phone number (80 messages per second by default).
WHATSAPP_SEND_PER_SECOND = env.int("WHATSAPP_SEND_PER_SECOND", default=80)
# Meta's pair rate limit (error 131056): how long to wait before writing the same customer again.
WHATSAPP_PAIR_RETRY_SECONDS = env.float("WHATSAPP_PAIR_RETRY_SECONDS", default=6.0)
# Embedded Signup: the Facebook Login for Business configuration id (Meta app › Facebook Login for Business).
META_WHATSAPP_CONFIG_ID = env_or("META_WHATSAPP_CONFIG_ID", "sandbox-whatsapp-config" if META_SANDBOX else "")

# --- SMS and Voice (Twilio) -------------------------------------------------
# Texts per second per number (Twilio's long-code default is 1; toll-free and short codes allow more).
SMS_SEND_PER_SECOND = env.int("SMS_SEND_PER_SECOND", default=1)
# Where Twilio's REST API is; with the sandbox, its stand-in at /sandbox/twilio/.
TWILIO_API_BASE = env_or(
    "TWILIO_API_BASE",
    f"{SITE_URL or 'http://127.0.0.1:8000'}/sandbox/twilio" if META_SANDBOX else "https://api.twilio.com",
).rstrip("/")
# How an incoming call rings the agents: "simultaneous" (all at once) or "in_turn".
VOICE_RING_MODE = env_or("VOICE_RING_MODE", "simultaneous")

# --- Agents ---------------------------------------------------------------
AGENT_DEFAULT_CAPACITY = env.int("AGENT_DEFAULT_CAPACITY", default=8)

# --- Security (production) ------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# Pages load only our own scripts and styles (no inline ones, no eval), so an
# injected tag cannot run. Media responses set a stricter policy of their own.
# Facebook Login is a link (a GET navigation), not a form post, so form-action
# stays 'self'; the account chooser shows Instagram profile pictures from
# Meta's CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https://*.fbcdn.net", "https://*.cdninstagram.com"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
# Exempt the webhook from the HTTPS redirect only if the operator says so (a
# proxy that terminates TLS without setting X-Forwarded-Proto); otherwise a
# webhook over plain HTTP is redirected like every other request.
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=False)
SECURE_REDIRECT_EXEMPT = [r"^webhooks/"] if WEBHOOK_ALLOW_HTTP else []

# --- Email Channel -------------------------------------------------------
# Our SMTP receiver (manage.py run_smtp_receiver). STARTTLS is offered when a
# certificate and key are given.
MAIL_RECEIVER_HOST = env_or("MAIL_RECEIVER_HOST", "127.0.0.1")
MAIL_RECEIVER_PORT = env.int("MAIL_RECEIVER_PORT", default=2525)
MAIL_RECEIVER_TLS_CERT = env_or("MAIL_RECEIVER_TLS_CERT", "")
MAIL_RECEIVER_TLS_KEY = env_or("MAIL_RECEIVER_TLS_KEY", "")
MAIL_MAX_BYTES = env.int("MAIL_MAX_BYTES", default=25 * 1024 * 1024)
# Admins forward their address to <token>@MAIL_FORWARDING_DOMAIN.
MAIL_FORWARDING_DOMAIN = env_or("MAIL_FORWARDING_DOMAIN", "inbound.localhost")
# The domain of the Message-IDs we make: mail carrying it is our own coming back.
MAIL_MESSAGE_ID_DOMAIN = env_or("MAIL_MESSAGE_ID_DOMAIN", "support.localhost")
MAIL_IMAP_TIMEOUT = env.float("MAIL_IMAP_TIMEOUT", default=30.0)
# Inbound mail from an email service provider (django-anymail) is accepted at
# /webhooks/mail/<provider>/inbound/ only when this "user:password" is set; the
# provider calls the URL with it as HTTP basic auth.
ANYMAIL = {"WEBHOOK_SECRET": env_or("ANYMAIL_WEBHOOK_SECRET", "")}
# An email service provider's keys come as ANYMAIL_<ESP>_<NAME> variables, e.g.
# ANYMAIL_POSTMARK_SERVER_TOKEN (with EMAIL_BACKEND=anymail.backends.postmark.EmailBackend).
ANYMAIL.update(
    {
        name.removeprefix("ANYMAIL_"): value
        for name, value in os.environ.items()
        if name.startswith("ANYMAIL_") and name != "ANYMAIL_WEBHOOK_SECRET" and value
    }
)

# Outgoing mail: EMAIL_BACKEND when given (an anymail ESP), else the SMTP server
# at EMAIL_HOST, else the local outbox: each message a file in var/outbox/ that
# the sandbox's customer simulator reads (the embedded default sends nothing out).
EMAIL_HOST = env_or("EMAIL_HOST", "")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env_or("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_or("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
EMAIL_FILE_PATH = env_or("EMAIL_FILE_PATH", str(VAR_DIR / "outbox"))
if env_or("EMAIL_BACKEND", ""):
    EMAIL_BACKEND = env("EMAIL_BACKEND")
elif EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
DEFAULT_FROM_EMAIL = env_or("DEFAULT_FROM_EMAIL", "support@localhost")

# Redacts access tokens and other secrets from every log record (config/log_redaction.py).
LOGGING_CONFIG = "config.log_redaction.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
