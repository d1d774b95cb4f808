"""The channel seam moved tables between apps: an installed database keeps every row.

The schema before the move is built by migrating back, filled through the old
models, then migrated forward; every row is checked on the new models.
"""

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("channels_app", "0006_webhooks_swept_at"),
    ("conversations", "0006_closed_list_index"),
    ("meta", None),
]
AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([target for target in targets if target[1]]).apps


def latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def fill_old_schema(apps):
    Channel = apps.get_model("channels_app", "Channel")
    EntryPoint = apps.get_model("channels_app", "EntryPoint")
    Account = apps.get_model("channels_app", "InstagramAccount")
    AccountEvent = apps.get_model("channels_app", "AccountEvent")
    WebhookEvent = apps.get_model("channels_app", "WebhookEvent")
    Outbound = apps.get_model("channels_app", "OutboundMessage")
    Slot = apps.get_model("channels_app", "SendSlot")
    Customer = apps.get_model("conversations", "Customer")
    Conversation = apps.get_model("conversations", "Conversation")
    Item = apps.get_model("conversations", "TimelineItem")

    messaging, _ = Channel.objects.get_or_create(kind="messaging")  # gone if a transactional test ran before
    accounts = []
    for n in range(2):
        entry_point = EntryPoint.objects.create(
            channel=messaging, kind="instagram", display_name=f"@shop{n}", external_id=f"1784{n}"
        )
        accounts.append(
            Account.objects.create(
                entry_point=entry_point,
                page_id=f"page-{n}",
                page_name=f"Shop {n}",
                ig_user_id=f"1784{n}",
                username=f"shop{n}",
                page_access_token="token-ciphertext",
                drain_lease_owner="old-worker" if n else "",
            )
        )
    AccountEvent.objects.create(account=accounts[0], kind="outside_echo", external_id="mid.echo", occurred_at=AT)
    WebhookEvent.objects.create(object="instagram", body='{"object": "instagram"}', status="failed", attempts=2)
    customer = Customer.objects.create(name="Maya")
    expected = []
    for account in accounts:
        conversation = Conversation.objects.create(customer=customer, entry_point=account.entry_point)
        for n in range(3):
            item = Item.objects.create(
                conversation=conversation,
                entry_point=account.entry_point,
                kind="agent_message",
                direction="out",
                text=f"reply {n}",
                delivery_status="queued",
            )
            key = uuid.uuid4()
            message = Outbound.objects.create(
                account=account,
                item=item,
                kind="text",
                recipient_id="IGSID-1",
                payload={"text": f"reply {n}"},
                status=["queued", "sending", "sent"][n],
                idempotency_key=key,
                attempts=n,
                message_id="mid.sent" if n == 2 else "",
            )
            Slot.objects.create(account=account, taken_at=AT, outbound=message)
            expected.append((message.pk, item.pk, account.entry_point_id, message.status, key, n))
    return expected


@pytest.mark.django_db(transaction=True)
def test_every_row_survives_the_move_to_the_core_and_the_meta_app():
    old_apps = migrate(BEFORE)
    try:
        expected = fill_old_schema(old_apps)
        new_apps = migrate(latest())
    finally:
        migrate(latest())

    Outbound = new_apps.get_model("conversations", "OutboundMessage")
    Slot = new_apps.get_model("conversations", "SendSlot")
    Account = new_apps.get_model("meta", "InstagramAccount")
    AccountEvent = new_apps.get_model("meta", "AccountEvent")
    WebhookEvent = new_apps.get_model("meta", "WebhookEvent")

    rows = {m.pk: m for m in Outbound.objects.all()}
    assert len(rows) == len(expected) == 6
    for pk, item_id, entry_point_id, status, key, attempts in expected:
        message = rows[pk]
        assert (message.item_id, message.entry_point_id, message.status, message.idempotency_key) == (
            item_id,
            entry_point_id,
            status,
            key,
        )
        assert message.attempts == attempts
    slots = list(Slot.objects.order_by("pk"))
    assert [(s.outbound_id, s.entry_point_id, s.taken_at) for s in slots] == [
        (pk, entry_point_id, AT) for pk, _, entry_point_id, *_ in expected
    ]
    assert sorted(Account.objects.values_list("username", "page_access_token")) == [
        ("shop0", "token-ciphertext"),
        ("shop1", "token-ciphertext"),
    ]
    assert AccountEvent.objects.get().external_id == "mid.echo"
    assert WebhookEvent.objects.get().attempts == 2
    # New rows continue after the copied ids (the sequences moved past them).
    item = new_apps.get_model("conversations", "TimelineItem").objects.first()
    item.pk = None
    item.save()
    fresh = Outbound.objects.create(
        entry_point_id=expected[0][2], item=item, kind="text", recipient_id="IGSID-1", payload={}
    )
    assert fresh.pk > max(rows)
