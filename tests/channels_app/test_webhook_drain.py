"""The workers' drainer: stored Meta deliveries are handed over without the endpoint publishing anything."""

import threading
from unittest import mock

import pytest
from django.db import connection, transaction
from django.utils import timezone

from channels_app.meta import dispatch
from channels_app.meta.dispatch import BATCH_SIZE, Drainer, claim, drain_once
from channels_app.meta.models import WebhookEvent
from config.celery import WebhookDrain, app
from tests.meta_payloads import load, post_webhook

TASK = "channels_app.tasks.process_webhook_events"


@pytest.fixture
def published():
    batches = []
    with mock.patch(
        "channels_app.meta.dispatch.current_app.send_task",
        side_effect=lambda name, args: batches.append((name, args[0])),
    ):
        yield batches


@pytest.fixture
def drain_lock_released(db):
    """A drainer stepped in the test's own thread takes the lock on the connection later tests share."""
    yield
    if connection.vendor == "postgresql" and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")


def stored(count=1, **fields):
    return [WebhookEvent.objects.create(object="instagram", body="{}", **fields).pk for _ in range(count)]


def test_deliveries_posted_to_the_endpoint_are_handed_over_a_batch_per_message(client, db, published):
    for _ in range(BATCH_SIZE + 5):
        assert post_webhook(client, load("text_message")).status_code == 200
    assert published == []  # the endpoint itself publishes nothing

    assert drain_once() == (BATCH_SIZE + 5, True)

    assert [(name, len(ids)) for name, ids in published] == [(TASK, BATCH_SIZE), (TASK, 5)]
    every_id = sorted(WebhookEvent.objects.values_list("pk", flat=True))
    assert [pk for _, ids in published for pk in ids] == every_id  # oldest first, each once
    assert not WebhookEvent.objects.filter(handed_over_at__isnull=True).exists()


def test_a_delivery_is_handed_over_once(db, published):
    stored(3)

    drain_once()
    assert drain_once() == (0, True)

    assert len(published) == 1


def test_rows_handed_over_or_finished_are_not_claimed(db, published):
    stored(1, handed_over_at=timezone.now())
    stored(1, status=WebhookEvent.Status.PROCESSED)
    stored(1, status=WebhookEvent.Status.FAILED)
    waiting = stored(1)

    assert claim() == waiting


def test_a_poll_claims_at_most_its_limit_oldest_first(db, published):
    ids = stored(5)

    assert claim(limit=3) == ids[:3]
    assert claim(limit=3) == ids[3:]


def test_a_batch_the_broker_refuses_is_released_for_the_next_poll(db, caplog):
    ids = stored(BATCH_SIZE + 2)
    first_ok = iter([None])

    def broker(name, args):
        if next(first_ok, "down") == "down":
            raise ConnectionRefusedError("broker down")

    with mock.patch("channels_app.meta.dispatch.current_app.send_task", side_effect=broker):
        assert drain_once() == (BATCH_SIZE + 2, False)

    assert "the sweeper will process them" in caplog.text
    released = set(WebhookEvent.objects.filter(handed_over_at__isnull=True).values_list("pk", flat=True))
    assert released == set(ids[BATCH_SIZE:])  # the first batch went out; the second waits for the next poll
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).count() == BATCH_SIZE + 2


def test_the_next_poll_hands_over_what_the_broker_refused(db, published):
    ids = stored(2)
    with mock.patch("channels_app.meta.dispatch.current_app.send_task", side_effect=ConnectionRefusedError):
        drain_once()

    drain_once()

    assert published == [(TASK, ids)]


def test_the_drainer_waits_its_interval_polls_again_at_once_after_a_full_claim_and_backs_off_on_failure(
    drain_lock_released, published, monkeypatch
):
    drainer = Drainer(interval=0.05)
    assert drainer.step() == 0.05  # nothing stored

    monkeypatch.setattr(dispatch, "CLAIM_LIMIT", 2)
    stored(3)
    assert drainer.step() == 0.0  # a full claim: more may be waiting
    assert drainer.step() == 0.05

    stored(1)
    with mock.patch("channels_app.meta.dispatch.current_app.send_task", side_effect=ConnectionRefusedError):
        assert drainer.step() == dispatch.BACKOFF_SECONDS


@pytest.mark.django_db(transaction=True)
def test_a_running_drainer_hands_over_what_the_endpoint_stored(client):
    handed_over = threading.Event()
    batches = []

    def send_task(name, args):
        batches.append(args[0])
        handed_over.set()

    with mock.patch("channels_app.meta.dispatch.current_app.send_task", side_effect=send_task):
        post_webhook(client, load("text_message"))
        # SQLite's shared in-memory test database locks whole tables between connections.
        connection.close()
        drainer = Drainer(interval=0.01)
        drainer.start()
        try:
            assert handed_over.wait(timeout=10)
        finally:
            drainer.stop()

    assert batches == [[WebhookEvent.objects.get().pk]]
    assert not drainer._thread.is_alive()


def test_every_worker_starts_a_drainer_and_stops_it(settings):
    assert WebhookDrain in app.steps["worker"]
    step = WebhookDrain(mock.Mock())

    with mock.patch("channels_app.meta.dispatch.Drainer") as drainer_class:
        step.start(mock.Mock())
        drainer = drainer_class.return_value
        drainer.start.assert_called_once_with()

        step.stop(mock.Mock())
        drainer.stop.assert_called_once_with()


def test_a_worker_can_be_started_without_a_drainer(settings):
    settings.META_WEBHOOK_DRAIN = False
    step = WebhookDrain(mock.Mock())

    with mock.patch("channels_app.meta.dispatch.Drainer") as drainer_class:
        step.start(mock.Mock())

    assert not drainer_class.called


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="advisory locks and SKIP LOCKED are PostgreSQL's"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_one_drainer_polls_at_a_time_and_another_takes_over_when_it_stops(published):
    ids = stored(2)
    first, second = Drainer(interval=0.05), Drainer(interval=0.05)
    waits = []

    def in_another_worker():  # a thread of its own: a connection of its own
        waits.append(second.step())
        connection.close()

    assert first._take_lock()
    thread = threading.Thread(target=in_another_worker)
    thread.start()
    thread.join()
    assert waits == [dispatch.STANDBY_SECONDS]
    assert published == []  # standing by, it polled nothing

    first._release()  # its worker stopped: the connection, and the lock with it, are gone
    thread = threading.Thread(target=in_another_worker)
    thread.start()
    thread.join()
    assert waits == [dispatch.STANDBY_SECONDS, 0.05]
    assert published == [(TASK, ids)]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_rows_another_drainer_is_claiming_are_skipped_not_waited_for():
    ids = stored(3)
    locked, done = threading.Event(), threading.Event()

    def other_drainer():
        with transaction.atomic():
            list(WebhookEvent.objects.filter(pk__in=ids[:2]).select_for_update())
            locked.set()
            done.wait(timeout=10)
        connection.close()

    thread = threading.Thread(target=other_drainer)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        assert claim() == ids[2:]
    finally:
        done.set()
        thread.join()


@pytest.mark.django_db(transaction=True)
def test_rows_waiting_when_the_drainer_arrives_are_not_published_a_second_time():
    """The web process published them itself before the upgrade; the drainer must not add a copy each."""
    from django.db.migrations.executor import MigrationExecutor

    def migrate(target):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(target)
        return executor.loader.project_state(target).apps

    old = migrate([("meta", "0003_messenger_whatsapp")]).get_model("meta", "WebhookEvent")
    try:
        waiting = old.objects.create(object="instagram", body="{}", status="received")
        done = old.objects.create(object="instagram", body="{}", status="processed")
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    waiting = WebhookEvent.objects.get(pk=waiting.pk)
    assert waiting.handed_over_at == waiting.received_at
    assert WebhookEvent.objects.get(pk=done.pk).handed_over_at is None
    assert claim() == []


def test_a_poll_that_finds_nothing_opens_no_transaction(db, django_assert_num_queries):
    # On SQLite every transaction takes the write lock; an idle drainer must not, 20 times a second.
    with django_assert_num_queries(1) as captured:
        assert dispatch.claim() == []
    assert "SAVEPOINT" not in captured.captured_queries[0]["sql"].upper()
