"""How the Email Channel runs: the receiver in the Procfile, where outgoing mail goes by default."""

import subprocess
import sys

from honcho.environ import parse_procfile

from tests.conftest import ROOT

BASE_ENV = {
    "ENV_FILE": "",
    "DEBUG": "true",
    "META_SANDBOX": "false",
    "PATH": "/usr/bin:/bin",
}
PRINT_EMAIL_SETTINGS = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
    "from django.conf import settings as s;"
    "print(s.EMAIL_BACKEND); print(s.EMAIL_FILE_PATH); print(s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER,"
    " s.EMAIL_USE_TLS); print(s.ANYMAIL.get('POSTMARK_SERVER_TOKEN', ''))"
)


def email_settings(**env):
    result = subprocess.run(
        [sys.executable, "-c", PRINT_EMAIL_SETTINGS],
        cwd=ROOT,
        env={**BASE_ENV, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.splitlines()


def test_procfile_runs_the_smtp_receiver_beside_web_and_worker():
    processes = parse_procfile((ROOT / "Procfile").read_text()).processes

    assert processes["mail"] == ".venv/bin/python manage.py run_smtp_receiver"
    assert {"web", "worker", "beat", "mail"} <= set(processes)


def test_the_receiver_listens_on_loopback_2525_by_default():
    from django.conf import settings

    assert (settings.MAIL_RECEIVER_HOST, settings.MAIL_RECEIVER_PORT) == ("127.0.0.1", 2525)


def test_with_nothing_configured_outgoing_mail_goes_to_the_local_outbox():
    backend, path, *_ = email_settings()

    assert backend == "django.core.mail.backends.filebased.EmailBackend"
    assert path == str(ROOT / "var" / "outbox")


def test_an_smtp_host_sends_through_it_with_the_environment_s_credentials():
    backend, _, smtp, _ = email_settings(
        EMAIL_HOST="smtp.example.com", EMAIL_PORT="2587", EMAIL_HOST_USER="apikey", EMAIL_USE_TLS="false"
    )

    assert backend == "django.core.mail.backends.smtp.EmailBackend"
    assert smtp == "smtp.example.com 2587 apikey False"


def test_an_email_service_provider_through_anymail():
    backend, _, _, token = email_settings(
        EMAIL_BACKEND="anymail.backends.postmark.EmailBackend", ANYMAIL_POSTMARK_SERVER_TOKEN="server-token"
    )

    assert backend == "anymail.backends.postmark.EmailBackend"
    assert token == "server-token"
