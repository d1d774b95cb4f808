"""The ASGI web process must not keep database connections per thread (Django ticket #33497)."""

import subprocess
import sys

from tests.conftest import ROOT
from tests.test_deploy_check import PRODUCTION_ENV

SHOW_CONN_MAX_AGE = (
    "import {module}; from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
)
SHOW_POOL = (
    "import {module}; from django.conf import settings;"
    " print((settings.DATABASES['default'].get('OPTIONS') or dict()).get('pool'))"
)


def conn_max_age(module, show=SHOW_CONN_MAX_AGE):
    env = {**PRODUCTION_ENV, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused", "CONN_MAX_AGE": "60"}
    result = subprocess.run(
        [sys.executable, "-c", show.format(module=module)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    return int(last) if last.isdigit() else last


def test_the_asgi_web_process_closes_its_database_connections_after_each_request():
    assert conn_max_age("config.asgi") == 0


def test_workers_keep_their_connections_as_configured():
    assert conn_max_age("config.celery") == 60


def test_the_asgi_web_process_lends_connections_from_one_pool():
    """Not one new PostgreSQL connection (a backend process forked) per webhook and page fetch."""
    assert conn_max_age("config.asgi", SHOW_POOL) == "{'min_size': 2, 'max_size': 10, 'timeout': 10}"


def test_workers_do_not_pool():
    assert conn_max_age("config.celery", SHOW_POOL) == "None"
