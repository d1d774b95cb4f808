import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from channels_app.meta.sender import instagram_rate_limit
from conversations.limiter import acquire_slot, budget_use, release_slot
from conversations.models import SendSlot
from tests.factories import make_instagram_account

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def account(db):
    return make_instagram_account()


@override_settings(INSTAGRAM_SEND_LIMIT=3, INSTAGRAM_SEND_WINDOW_SECONDS=10)
def test_slots_are_granted_up_to_the_limit_then_refused_with_the_time_one_frees(account):
    with time_machine.travel(START, tick=False) as traveller:
        grants = []
        for _ in range(3):
            grants.append(acquire_slot(account.entry_point_id, instagram_rate_limit()))
            traveller.shift(1)
        refused = acquire_slot(account.entry_point_id, instagram_rate_limit())

    assert all(grant.granted for grant in grants)
    assert not refused.granted
    assert refused.next_free_at == START + timedelta(seconds=10)


@override_settings(INSTAGRAM_SEND_LIMIT=3, INSTAGRAM_SEND_WINDOW_SECONDS=10)
def test_a_slot_frees_exactly_when_the_oldest_leaves_the_window(account):
    with time_machine.travel(START, tick=False) as traveller:
        for second in range(3):
            traveller.move_to(START + timedelta(seconds=second))
            acquire_slot(account.entry_point_id, instagram_rate_limit())
        traveller.move_to(START + timedelta(seconds=9, microseconds=999_999))
        assert not acquire_slot(account.entry_point_id, instagram_rate_limit()).granted
        traveller.move_to(START + timedelta(seconds=10))
        assert acquire_slot(account.entry_point_id, instagram_rate_limit()).granted
        assert not acquire_slot(account.entry_point_id, instagram_rate_limit()).granted


@override_settings(INSTAGRAM_SEND_LIMIT=5, INSTAGRAM_SEND_WINDOW_SECONDS=10)
def test_never_more_than_the_limit_in_any_window(account):
    taken = []
    with time_machine.travel(START, tick=False) as traveller:
        for step in range(200):
            traveller.move_to(START + timedelta(milliseconds=250 * step))
            if acquire_slot(account.entry_point_id, instagram_rate_limit()).granted:
                taken.append(timezone.now())
    window = timedelta(seconds=10)

    worst = max(sum(1 for t in taken if start <= t < start + window) for start in taken)

    assert worst == 5
    assert len(taken) == 25  # 50 seconds at 5 per 10 s: the budget is used fully


@override_settings(INSTAGRAM_SEND_LIMIT=1, INSTAGRAM_SEND_WINDOW_SECONDS=60)
def test_a_released_slot_can_be_taken_again(account):
    grant = acquire_slot(account.entry_point_id, instagram_rate_limit())
    release_slot(grant.slot_id)

    assert acquire_slot(account.entry_point_id, instagram_rate_limit()).granted


@override_settings(INSTAGRAM_SEND_LIMIT=200, INSTAGRAM_SEND_WINDOW_SECONDS=300)
def test_budget_use_reads_the_same_ledger(account):
    with time_machine.travel(START, tick=False) as traveller:
        SendSlot.objects.create(entry_point_id=account.entry_point_id, taken_at=START - timedelta(minutes=6))
        for _ in range(37):
            acquire_slot(account.entry_point_id, instagram_rate_limit())
        traveller.shift(1)
        use = budget_use(account.entry_point_id, instagram_rate_limit())

    assert (use.used, use.limit) == (37, 200)
    assert str(use) == "37 of 200 in the last 5 minutes"


@pytest.mark.django_db(transaction=True)
@override_settings(INSTAGRAM_SEND_LIMIT=10, INSTAGRAM_SEND_WINDOW_SECONDS=300)
def test_concurrent_takers_on_postgresql_never_exceed_the_limit_together(postgres):
    account = make_instagram_account()
    barrier = threading.Barrier(4)
    granted = []

    def take():
        barrier.wait()
        try:
            for _ in range(10):
                if acquire_slot(account.entry_point_id, instagram_rate_limit()).granted:
                    granted.append(1)
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(granted) == 10
    assert SendSlot.objects.count() == 10


@override_settings(INSTAGRAM_SEND_LIMIT=1, INSTAGRAM_SEND_WINDOW_SECONDS=10)
def test_a_confirmed_slot_counts_from_metas_answer(account):
    from conversations.limiter import confirm_slot

    with time_machine.travel(START, tick=False) as traveller:
        grant = acquire_slot(account.entry_point_id, instagram_rate_limit())
        traveller.shift(2)  # Meta answered two seconds later
        confirm_slot(grant.slot_id)
        traveller.move_to(START + timedelta(seconds=10))
        refused = acquire_slot(account.entry_point_id, instagram_rate_limit())

    assert not refused.granted
    assert refused.next_free_at == START + timedelta(seconds=12)
