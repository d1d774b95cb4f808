"""The ASGI web process must not keep database connections per thread (Django ticket #33497)."""

import subprocess
import sys

from tests.conftest import ROOT
from tests.test_deploy_check import PRODUCTION_ENV

SHOW_CONN_MAX_AGE = (
    "import {module}; from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
)


def conn_max_age(module):
    env = {**PRODUCTION_ENV, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused", "CONN_MAX_AGE": "60"}
    result = subprocess.run(
        [sys.executable, "-c", SHOW_CONN_MAX_AGE.format(module=module)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


def test_the_asgi_web_process_closes_its_database_connections_after_each_request():
    assert conn_max_age("config.asgi") == 0


def test_workers_keep_their_connections_as_configured():
    assert conn_max_age("config.celery") == 60
