"""The change feed's migration: conversations already there count as numbered, and the counter starts above them."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("conversations", "0013_live_event")]
AFTER = [("conversations", "0014_change_feed")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_existing_conversations_are_numbered_by_id_and_the_counter_starts_above_them():
    old_apps = migrate(BEFORE)
    try:
        Channel = old_apps.get_model("channels_app", "Channel")
        EntryPoint = old_apps.get_model("channels_app", "EntryPoint")
        Customer = old_apps.get_model("conversations", "Customer")
        Conversation = old_apps.get_model("conversations", "Conversation")
        channel, _ = Channel.objects.get_or_create(kind="messaging")
        entry_point = EntryPoint.objects.create(
            channel=channel, kind="instagram", display_name="@shop", external_id="1"
        )
        made = [
            Conversation.objects.create(customer=Customer.objects.create(name=f"C{n}"), entry_point=entry_point).pk
            for n in range(3)
        ]
        new_apps = migrate(AFTER)
    finally:
        migrate(latest())

    numbered = dict(new_apps.get_model("conversations", "Conversation").objects.values_list("pk", "change_seq"))
    assert numbered == {pk: pk for pk in made}
    assert new_apps.get_model("conversations", "ChangeCounter").objects.get(pk=1).value == max(made)
