"""Crashes and outages with real processes: a worker killed mid-burst, the broker down."""

import json
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from channels_app import webhooks
from channels_app.models import WebhookEvent
from conversations.models import TimelineItem
from tests.conftest import ROOT, start_worker, stop_process, wait_for, worker_env
from tests.factories import make_entry_point, make_inbox, make_instagram_account
from tests.meta_payloads import IG_ACCOUNT_ID, post_webhook

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def burst(count, start=0):
    """Deliveries with one distinct customer message each."""
    for n in range(start, start + count):
        yield {
            "object": "instagram",
            "entry": [
                {
                    "id": IG_ACCOUNT_ID,
                    "time": 1764037200000,
                    "messaging": [
                        {
                            "sender": {"id": f"77{n % 20:014d}"},
                            "recipient": {"id": IG_ACCOUNT_ID},
                            "timestamp": 1764037200000 + n,
                            "message": {"mid": f"mid.burst.{n}", "text": f"message {n}"},
                        }
                    ],
                }
            ],
        }


@pytest.fixture
def account(services, transactional_db):
    from config.celery import app

    app.control.purge()
    make_inbox("Instagram", default=True)
    return make_instagram_account(make_entry_point(external_id=IG_ACCOUNT_ID))


def test_a_worker_killed_mid_burst_loses_nothing_and_duplicates_nothing(account, client, tmp_path):
    log = tmp_path / "worker.log"
    worker = start_worker(log)
    for payload in burst(150):
        assert post_webhook(client, payload).status_code == 200
    wait_for(lambda: TimelineItem.objects.count() >= 20, message="the worker to start on the burst")

    worker.send_signal(signal.SIGKILL)  # no warm shutdown, no acknowledgement of the task in hand
    worker.wait()
    worker = start_worker(log)
    try:
        # Messages the dead worker held come back after the broker's visibility timeout; the
        # beat's sweeper does not wait that long: it re-enqueues deliveries left `received`.
        WebhookEvent.objects.filter(status="received").update(received_at=timezone.now() - timedelta(minutes=2))
        webhooks.sweep_unprocessed()
        wait_for(
            lambda: not WebhookEvent.objects.filter(status="received").exists(),
            timeout=60,
            message="every delivery to be processed",
        )
    finally:
        stop_process(worker)

    texts = list(TimelineItem.objects.values_list("text", flat=True))
    assert sorted(texts) == sorted(f"message {n}" for n in range(150))
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_deliveries_during_a_broker_outage_are_acknowledged_stored_and_processed_later(account, tmp_path):
    dead_broker = {"CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", "127.0.0.1:8391", "-w", "2", "--log-level", "warning"],
        cwd=ROOT,
        env=worker_env(dead_broker),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _up("http://127.0.0.1:8391/webhooks/meta/"), message="gunicorn to start")
        from channels_app.meta.signature import sign

        statuses = []
        for payload in burst(20, start=1000):
            body = json.dumps(payload).encode()
            statuses.append(
                requests.post(
                    "http://127.0.0.1:8391/webhooks/meta/",
                    data=body,
                    timeout=10,
                    headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, "test-app-secret")},
                ).status_code
            )
    finally:
        stop_process(server)

    assert statuses == [200] * 20
    assert WebhookEvent.objects.filter(status="received").count() == 20
    assert not TimelineItem.objects.exists()

    worker = start_worker(tmp_path / "worker.log")  # the broker is back
    try:
        WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=2))
        webhooks.sweep_unprocessed()
        wait_for(lambda: TimelineItem.objects.count() == 20, timeout=30, message="the swept deliveries")
    finally:
        stop_process(worker)
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def _up(url):
    try:
        return requests.get(url, timeout=1).status_code == 403  # verification without a token
    except requests.RequestException:
        return False
