"""The change feed: which conversations changed, numbered in commit order.

The inbox's live updates ask "what changed after the number I last saw?". A
timestamp taken during the change cannot answer that: with two workers, a
change stamped earlier may commit later, after a page has already read past
it, and never reach the screen. So a change is numbered after it commits:

1. Inside the business transaction, `Conversation.touch` (or `mark_changed`)
   sets the row's `change_seq` to null: "changed, not numbered yet" (in the
   same UPDATE, so a worker pays no extra query).
2. `stamp_changes` numbers committed null rows in a small transaction of its
   own: it locks the one `ChangeCounter` row, takes the next numbers and
   stamps the rows; the lock is held until it commits, so a higher number
   always commits after every lower one (on SQLite the write lock does the
   same). The reader that finds null rows calls it (`changes_since`), and a
   beat task sweeps whatever nobody read.
3. A reader asks for `change_seq > cursor OR change_seq IS NULL`: a change is
   either numbered above the cursor or still null, never passed over.

After commit the conversations are announced (`signals.conversation_changed`,
which live updates push to the pages) once per transaction, however often
they were touched in it.
"""

import logging
from functools import partial

from django.apps import apps
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, Value, When

from .. import signals
from .live import ChangeCounter

logger = logging.getLogger(__name__)

COUNTER_ID = 1
# Rows stamped per transaction; more wait for the next stamping.
STAMP_BATCH = 500


def _conversations():
    # Through the app registry: the Conversation model's own module calls this one.
    return apps.get_model("conversations", "Conversation")


def current_cursor() -> int:
    """The newest number committed: every change numbered so far is at or below it."""
    return ChangeCounter.objects.filter(pk=COUNTER_ID).values_list("value", flat=True).first() or 0


def mark_changed(conversation_ids, inbox_id=None) -> None:
    """Mark conversations changed (inside the caller's transaction) and announce them on commit.

    For changes that must not move the conversation in the list (`Conversation.touch`
    also stamps its last activity)."""
    ids = list(conversation_ids)
    if not ids:
        return
    _conversations().objects.filter(pk__in=ids).update(change_seq=None)
    announce_on_commit(ids, inbox_id=inbox_id)


def announce_on_commit(conversation_ids, inbox_id=None) -> None:
    """After the current transaction commits, tell the listeners, once per conversation.

    Every call registers its callbacks (a savepoint that rolls back takes only
    its own); after commit the first callback for a conversation announces it
    and the others find it announced. The record is cleared here, when a
    new change is made, so the next transaction announces again."""
    state = _state()
    state.clear()
    for conversation_id in conversation_ids:
        transaction.on_commit(partial(_announce, state, conversation_id, inbox_id), robust=True)


def _state() -> set:
    announced = getattr(connection, "_announced_conversations", None)
    if announced is None:
        announced = connection._announced_conversations = set()
    return announced


def _announce(announced: set, conversation_id: int, inbox_id) -> None:
    if conversation_id in announced:
        return
    announced.add(conversation_id)
    signals.conversation_changed.send(sender=_conversations(), conversation_id=conversation_id, inbox_id=inbox_id)


def stamp_changes(limit: int = STAMP_BATCH) -> int:
    """Number committed changes not numbered yet, in a transaction of its own; returns how many.

    Rows another transaction is changing right now are skipped (they are
    numbered once it has committed), so this never waits on a business
    transaction while holding the counter."""
    with transaction.atomic():
        counter = ChangeCounter.objects.select_for_update().filter(pk=COUNTER_ID).first()
        if counter is None:
            # A database created before the counter existed (its migration makes the row).
            ChangeCounter.objects.get_or_create(pk=COUNTER_ID)
            counter = ChangeCounter.objects.select_for_update().get(pk=COUNTER_ID)
        ids = list(
            _conversations()
            .objects.filter(change_seq__isnull=True)
            .select_for_update(skip_locked=connection.features.has_select_for_update_skip_locked)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return 0
        # One number per row: a reader that stops at a page limit resumes exactly where it stopped.
        numbers = [When(pk=conversation_id, then=Value(counter.value + n)) for n, conversation_id in enumerate(ids, 1)]
        _conversations().objects.filter(pk__in=ids).update(change_seq=Case(*numbers, output_field=BigIntegerField()))
        ChangeCounter.objects.filter(pk=COUNTER_ID).update(value=counter.value + len(ids))
    return len(ids)
