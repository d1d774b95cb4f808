"""Crashes and outages with real processes: a worker killed mid-burst, the broker down."""

import json
import signal
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from channels_app.meta import processing as webhooks
from channels_app.meta.models import WebhookEvent
from channels_app.models import EntryPoint
from conversations.models import TimelineItem
from tests.conftest import ROOT, purge_queues, start_worker, stop_process, wait_for, worker_env
from tests.factories import (
    make_entry_point,
    make_inbox,
    make_instagram_account,
    make_messenger_page,
    make_whatsapp_number,
)
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
    purge_queues()
    make_inbox("Instagram", default=True)
    return make_instagram_account(make_entry_point(external_id=IG_ACCOUNT_ID))


def test_a_worker_killed_mid_burst_loses_nothing_and_duplicates_nothing(account, client, tmp_path):
    log = tmp_path / "worker.log"
    worker = start_worker(log)
    for payload in burst(150):
        assert post_webhook(client, payload).status_code == 200
    wait_for(lambda: TimelineItem.objects.count() >= 20, timeout=60, message="the worker to start on the burst")

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


PAGE_ID = "100000000000001"
PHONE_NUMBER_ID = "106540352242922"


def messenger_burst(count):
    for n in range(count):
        yield {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "time": 1764037200000,
                    "messaging": [
                        {
                            "sender": {"id": f"88{n % 20:014d}"},
                            "recipient": {"id": PAGE_ID},
                            "timestamp": 1764037200000 + n,
                            "message": {"mid": f"m_burst_{n}", "text": f"message {n}"},
                        }
                    ],
                }
            ],
        }


def whatsapp_burst(count):
    for n in range(count):
        customer = f"1650555{n % 20:04d}"
        yield {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
                                "contacts": [{"profile": {"name": f"Customer {n % 20}"}, "wa_id": customer}],
                                "messages": [
                                    {
                                        "from": customer,
                                        "id": f"wamid.burst.{n}",
                                        "timestamp": str(1764037200 + n),
                                        "type": "text",
                                        "text": {"body": f"message {n}"},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }


@pytest.mark.parametrize("product", ["messenger", "whatsapp"])
def test_a_worker_killed_mid_burst_loses_nothing_on_messenger_and_whatsapp(product, services, client, tmp_path):
    purge_queues()
    make_inbox("Messaging", default=True)
    if product == "messenger":
        make_messenger_page(page_id=PAGE_ID)
        deliveries = list(messenger_burst(80))
    else:
        make_whatsapp_number(phone_number_id=PHONE_NUMBER_ID)
        deliveries = list(whatsapp_burst(80))
    log = tmp_path / "worker.log"
    worker = start_worker(log)
    for payload in deliveries:
        assert post_webhook(client, payload).status_code == 200
    wait_for(lambda: TimelineItem.objects.count() >= 10, timeout=60, message="the worker to start on the burst")

    worker.send_signal(signal.SIGKILL)
    worker.wait()
    worker = start_worker(log)
    try:
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
    assert sorted(texts) == sorted(f"message {n}" for n in range(80))
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_deliveries_during_a_broker_outage_are_acknowledged_stored_and_processed_later(account, tmp_path):
    dead_broker = {"CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}
    address = f"127.0.0.1:{_free_port()}"  # not a fixed port: another test run may be using it
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", address, "-w", "2", "--log-level", "warning"],
        cwd=ROOT,
        env=worker_env(dead_broker),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _up(f"http://{address}/webhooks/meta/"), timeout=60, message="gunicorn to start")
        from channels_app.meta.signature import sign

        statuses = []
        for payload in burst(20, start=1000):
            body = json.dumps(payload).encode()
            statuses.append(
                requests.post(
                    f"http://{address}/webhooks/meta/",
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
        wait_for(lambda: TimelineItem.objects.count() == 20, timeout=60, message="the swept deliveries")
    finally:
        stop_process(worker)
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _up(url):
    try:
        return requests.get(url, timeout=1).status_code == 403  # verification without a token
    except requests.RequestException:
        return False


def test_a_worker_killed_after_meta_accepted_a_send_does_not_send_it_twice(account, tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from celery import current_app

    from conversations.models import OutboundMessage
    from conversations.outbound import send_reply
    from tests.factories import make_conversation, make_customer, make_user

    received, answered = [], threading.Event()
    arrived = threading.Event()

    class SlowMeta(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            arrived.set()
            answered.wait(10)  # Meta accepted it; the answer never reaches the killed worker
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"recipient_id": "IGSID-9", "message_id": "mid.accepted.1"}')

        def log_message(self, *args):
            pass

    fake = ThreadingHTTPServer(("127.0.0.1", 0), SlowMeta)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    graph = f"http://127.0.0.1:{fake.server_address[1]}"
    customer = make_customer(account.entry_point, external_id="IGSID-9")
    conversation = make_conversation(
        inbox=None, entry_point=account.entry_point, customer=customer, last_customer_message_at=timezone.now()
    )
    log = tmp_path / "worker.log"
    worker = start_worker(log, {"TEST_META_GRAPH_URL": graph})
    try:
        send_reply(conversation, make_user(), "Your refund is on its way")  # enqueues the drainer on commit
        assert arrived.wait(60), log.read_text()
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        answered.set()
        assert OutboundMessage.objects.get().status == "sending"

        # Meta's echo of the accepted message tells us its id.
        echo = {
            "object": "instagram",
            "entry": [
                {
                    "id": IG_ACCOUNT_ID,
                    "time": 1,
                    "messaging": [
                        {
                            "sender": {"id": IG_ACCOUNT_ID},
                            "recipient": {"id": "IGSID-9"},
                            "timestamp": 1764037300000,
                            "message": {"mid": "mid.accepted.1", "text": "Your refund is on its way", "is_echo": True},
                        }
                    ],
                }
            ],
        }
        event = WebhookEvent.objects.create(object="instagram", body=json.dumps(echo))
        webhooks.process_webhook_event(event.pk)

        worker = start_worker(log, {"TEST_META_GRAPH_URL": graph})
        # The dead drainer's lease and the in-doubt grace period would run out by themselves
        # (60 s, 2 minutes); skip the wait.
        EntryPoint.objects.update(drain_lease_until=timezone.now() - timedelta(seconds=1))
        OutboundMessage.objects.update(next_attempt_at=timezone.now())
        current_app.send_task("conversations.tasks.drain_entry_point", args=[account.entry_point_id])
        wait_for(
            lambda: OutboundMessage.objects.get().status == "sent", timeout=60, message="the drainer to record the send"
        )
    finally:
        stop_process(worker)
        fake.shutdown()

    assert len(received) == 1
    item = TimelineItem.objects.get(kind="agent_message")
    assert item.external_id == "mid.accepted.1"
    assert item.delivery_status in ("sent", "delivered")
