"""The inbox's change cursor: every committed change reaches the page once, whatever order workers commit in.

The PostgreSQL tests run two real connections; the others check the cursor's
paging and numbering on the default database.
"""

import re
import threading

import pytest
from django.db import connection, transaction
from django.urls import reverse

from conversations.models import ChangeCounter, Conversation, change_feed
from inbox import conversation_list as listing
from tests import factories


def cursor_of(response) -> str:
    return re.search(r'data-cursor="([^"]*)"', response.content.decode()).group(1)


def poll(client, cursor, **params):
    return client.get(reverse("inbox:changes"), {"since": cursor, **params})


class Worker(threading.Thread):
    """A worker of its own (its own database connection) that changes a conversation in a transaction
    and commits only when told."""

    def __init__(self, conversation, text):
        super().__init__(daemon=True)
        self.conversation = conversation
        self.text = text
        self.changed = threading.Event()
        self.may_commit = threading.Event()
        self.error = None

    def run(self):
        try:
            with transaction.atomic():
                factories.make_item(self.conversation, text=self.text)
                Conversation.touch(self.conversation.pk)
                self.changed.set()
                assert self.may_commit.wait(timeout=30), "never told to commit"
        except Exception as error:  # reported by the test
            self.error = error
            self.changed.set()
        finally:
            connection.close()

    def commit(self):
        self.may_commit.set()
        self.join(timeout=30)
        assert not self.is_alive() and self.error is None, self.error


@pytest.mark.django_db(transaction=True)
def test_a_change_that_commits_late_still_reaches_the_page_on_postgresql(postgres, client):
    agent = factories.make_user()
    inbox = factories.make_inbox(name="Support", members=[agent])
    late, early = factories.make_conversation(inbox=inbox), factories.make_conversation(inbox=inbox)
    for conversation in (late, early):
        Conversation.touch(conversation.pk)  # autocommit: numbered at once
    client.force_login(agent)
    cursor = cursor_of(client.get(reverse("inbox:home")))

    # Worker A changes `late` first but is slow to commit; worker B changes `early` and commits.
    worker_a = Worker(late, "Sent first, committed last")
    worker_a.start()
    assert worker_a.changed.wait(timeout=30) and worker_a.error is None, worker_a.error
    worker_b = Worker(early, "Sent second, committed first")
    worker_b.start()
    worker_b.commit()
    first = poll(client, cursor, open=early.pk)
    worker_a.commit()
    second = poll(client, cursor_of(first), open=late.pk)

    assert first.status_code == 200 and "Sent second, committed first" in first.content.decode()
    assert second.status_code == 200
    assert "Sent first, committed last" in second.content.decode()
    assert poll(client, cursor_of(second)).status_code == 204


@pytest.mark.django_db(transaction=True)
def test_a_stamping_waits_for_no_business_transaction_on_postgresql(postgres):
    """Numbering B's change skips the row A is still changing, rather than queueing every stamp behind A."""
    inbox = factories.make_inbox(name="Support")
    busy, other = factories.make_conversation(inbox=inbox), factories.make_conversation(inbox=inbox)
    change_feed.stamp_changes()
    worker_a = Worker(busy, "Still typing")
    worker_a.start()
    assert worker_a.changed.wait(timeout=30) and worker_a.error is None, worker_a.error
    # The row A holds is null inside A: make the committed value null too, as a crash before stamping leaves it.
    with connection.cursor() as sql:
        sql.execute("SET lock_timeout = '2s'")
        Conversation.objects.filter(pk=other.pk).update(change_seq=None)
        numbered = change_feed.stamp_changes()
        sql.execute("SET lock_timeout = 0")
    worker_a.commit()
    change_feed.stamp_changes()

    assert numbered == 1
    assert Conversation.objects.get(pk=busy.pk).change_seq > Conversation.objects.get(pk=other.pk).change_seq


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_let_a_poll_skip_or_repeat_a_change_on_postgresql(postgres):
    inbox = factories.make_inbox(name="Support")
    conversations = [factories.make_conversation(inbox=inbox) for _ in range(6)]
    change_feed.stamp_changes()
    commits = []  # (conversation id, polls finished before its commit began)
    polls = []  # conversation ids each poll reported
    finished_polls = [0]
    done = threading.Event()
    lock = threading.Lock()

    def write(offset):
        try:
            for round_number in range(15):
                conversation = conversations[(offset + round_number) % len(conversations)]
                with transaction.atomic():
                    Conversation.touch(conversation.pk)
                    factories.make_item(conversation, text=f"{offset}-{round_number}")
                    with lock:
                        before = finished_polls[0]
                commits.append((conversation.pk, before))
        finally:
            connection.close()

    def read():
        cursor = listing.latest_change()
        cursors = [cursor]
        try:
            while True:
                finished = done.is_set()
                with lock:
                    started = len(polls)
                    polls.append(set())
                found = listing.changes_since(cursor, [inbox.pk])
                if found is not None:
                    polls[started] = found.conversation_ids
                    cursor = found.cursor
                    cursors.append(cursor)
                with lock:
                    finished_polls[0] += 1
                if finished and found is None:
                    break
        finally:
            connection.close()
        reader.cursors = cursors

    writers = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    reader = threading.Thread(target=read)
    reader.start()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert not any(writer.is_alive() for writer in writers)
    done.set()
    reader.join(timeout=120)
    assert not reader.is_alive()

    # Every commit is reported by a poll that was still running, or not begun, when it started committing.
    missed = [(pk, before) for pk, before in commits if not any(pk in ids for ids in polls[before:])]
    assert missed == [], (len(polls), polls[-5:])
    # The cursor only moves forward, so no numbered change is read twice.
    assert reader.cursors == sorted(reader.cursors)
    assert len(commits) == 45
    # Each stamping took numbers of its own: the rows hold distinct numbers, none above the counter.
    numbers = list(Conversation.objects.values_list("change_seq", flat=True))
    assert len(set(numbers)) == len(numbers) and max(numbers) == change_feed.current_cursor()


def test_a_poll_that_stops_at_its_limit_resumes_where_it_stopped(db, monkeypatch):
    monkeypatch.setattr(listing, "CHANGES_LIMIT", 2)
    inbox = factories.make_inbox(name="Support")
    made = [factories.make_conversation(inbox=inbox) for _ in range(5)]
    change_feed.stamp_changes()
    cursor = 0
    reported = []

    while (found := listing.changes_since(cursor, [inbox.pk])) is not None:
        reported += sorted(found.conversation_ids)
        cursor = found.cursor

    assert reported == [conversation.pk for conversation in made]


def test_touching_a_conversation_twice_in_a_transaction_announces_it_once(db, django_capture_on_commit_callbacks):
    conversation = factories.make_conversation(inbox=factories.make_inbox(name="Support"))
    change_feed.stamp_changes()
    heard = []

    def listener(sender, conversation_id, **kwargs):
        heard.append(conversation_id)

    from conversations import signals

    signals.conversation_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                Conversation.touch(conversation.pk)
                Conversation.touch(conversation.pk, inbox_id=conversation.inbox_id)
    finally:
        signals.conversation_changed.disconnect(listener)

    assert heard == [conversation.pk]


def test_a_change_announced_in_a_savepoint_that_rolled_back_is_still_announced(db, django_capture_on_commit_callbacks):
    conversation = factories.make_conversation(inbox=factories.make_inbox(name="Support"))
    heard = []

    def listener(sender, conversation_id, **kwargs):
        heard.append(conversation_id)

    from conversations import signals

    signals.conversation_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        Conversation.touch(conversation.pk)
                        raise RuntimeError("this part fails")
                except RuntimeError:
                    pass
                Conversation.touch(conversation.pk)
    finally:
        signals.conversation_changed.disconnect(listener)

    assert heard == [conversation.pk]


def test_a_worker_pays_no_query_for_the_change_feed(db, django_assert_num_queries):
    conversation = factories.make_conversation(inbox=factories.make_inbox(name="Support"))

    with django_assert_num_queries(1):
        Conversation.touch(conversation.pk)


def test_numbers_follow_stamping_order_and_the_counter(db):
    inbox = factories.make_inbox(name="Support")
    first, second = factories.make_conversation(inbox=inbox), factories.make_conversation(inbox=inbox)
    change_feed.stamp_changes()
    Conversation.touch(second.pk)
    change_feed.stamp_changes()
    Conversation.touch(first.pk)
    change_feed.stamp_changes()

    first.refresh_from_db()
    second.refresh_from_db()
    assert second.change_seq < first.change_seq == ChangeCounter.objects.get().value


def test_stamping_without_a_counter_row_creates_it(db):
    ChangeCounter.objects.all().delete()
    conversation = factories.make_conversation(inbox=factories.make_inbox(name="Support"))

    assert change_feed.stamp_changes() == 1
    conversation.refresh_from_db()
    assert conversation.change_seq == change_feed.current_cursor() == 1


def test_a_poll_that_cannot_number_changes_now_still_reports_them(transactional_db, monkeypatch):
    from django.db import OperationalError

    inbox = factories.make_inbox(name="Support")
    conversation = factories.make_conversation(inbox=inbox)

    def busy(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(change_feed, "stamp_changes", busy)
    found = listing.changes_since(0, [inbox.pk])

    assert not connection.in_atomic_block  # so the poll did try to number it
    assert found.conversation_ids == {conversation.pk} and found.cursor == 0


@pytest.mark.django_db(transaction=True)
def test_the_first_poll_after_a_commit_numbers_the_change(client):
    agent = factories.make_user()
    inbox = factories.make_inbox(name="Support", members=[agent])
    conversation = factories.make_conversation(inbox=inbox)
    client.force_login(agent)
    cursor = int(cursor_of(client.get(reverse("inbox:home"))))
    Conversation.touch(conversation.pk)  # committed

    first = poll(client, cursor)

    assert first.status_code == 200 and int(cursor_of(first)) > cursor
    assert Conversation.objects.get(pk=conversation.pk).change_seq == int(cursor_of(first))
    assert poll(client, cursor_of(first)).status_code == 204
