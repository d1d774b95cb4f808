"""Customers: details, merging (and undoing it exactly), splitting, linking and suggestions."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from channels_app.models import Channel, EntryPoint
from conversations import customers
from conversations.inbound import IncomingMessage, receive_message
from conversations.models import (
    Conversation,
    Customer,
    CustomerAttribute,
    CustomerIdentity,
    CustomerMerge,
    CustomerReaction,
    TimelineItem,
)
from conversations.services import ActionRefused
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return factories.make_user(first_name="Ada", last_name="")


@pytest.fixture
def instagram():
    return factories.make_entry_point(display_name="@acmeshoes")


@pytest.fixture
def mailbox():
    return factories.make_entry_point(
        kind=EntryPoint.Kind.EMAIL_ADDRESS, channel_kind=Channel.Kind.EMAIL, display_name="help@acme.test"
    )


def two_people(instagram, mailbox):
    """Maya on Instagram and the same Maya by email, not yet known to be one."""
    maya = factories.make_customer(instagram, external_id="IGSID1", name="Maya Lopez", username="mayalopez")
    maya.notes = "Prefers mornings."
    maya.save()
    by_mail = factories.make_customer(mailbox, external_id="maya@x.test", name="", emails=["maya@x.test"])
    by_mail.attributes = {"plan": "Pro"}
    by_mail.save()
    instagram_conversation = factories.make_conversation(entry_point=instagram, customer=maya)
    factories.make_item(instagram_conversation, text="Hi on Instagram")
    mail_conversation = factories.make_conversation(
        entry_point=mailbox, customer=by_mail, status=Conversation.Status.CLOSED, closed_at=timezone.now()
    )
    factories.make_item(mail_conversation, text="Hi by email")
    CustomerReaction.objects.create(
        entry_point=mailbox, customer=by_mail, message_external_id="m1", action="react", emoji="👍"
    )
    return maya, by_mail, instagram_conversation, mail_conversation


def test_merge_moves_identities_conversations_and_reactions(agent, instagram, mailbox):
    maya, by_mail, instagram_conversation, mail_conversation = two_people(instagram, mailbox)

    record = customers.merge_customers(maya, by_mail, agent)

    assert not Customer.objects.filter(pk=by_mail.pk).exists()
    assert set(maya.identities.values_list("external_id", flat=True)) == {"IGSID1", "maya@x.test"}
    assert set(maya.conversations.values_list("pk", flat=True)) == {instagram_conversation.pk, mail_conversation.pk}
    assert maya.reactions.count() == 1
    maya.refresh_from_db()
    assert maya.name == "Maya Lopez"
    assert maya.emails == ["maya@x.test"]
    assert maya.attributes == {"plan": "Pro"}
    assert record.merged_by == agent


def test_merge_records_an_audit_item_in_the_latest_conversation(agent, instagram, mailbox):
    maya, by_mail, instagram_conversation, _ = two_people(instagram, mailbox)
    Conversation.objects.filter(pk=instagram_conversation.pk).update(last_activity_at=timezone.now() + timedelta(1))

    record = customers.merge_customers(maya, by_mail, agent)

    audit = TimelineItem.objects.get(metadata__change="customers_merged")
    assert audit.conversation_id == instagram_conversation.pk
    assert audit.metadata["merge_id"] == record.pk
    assert audit.text.startswith("Ada merged Customer") and audit.text.endswith("into Maya Lopez")


def test_undo_restores_exactly(agent, instagram, mailbox):
    maya, by_mail, instagram_conversation, mail_conversation = two_people(instagram, mailbox)
    Customer.objects.filter(pk=by_mail.pk).update(created_at=timezone.now() - timedelta(days=30))
    by_mail.refresh_from_db()
    before = customers._snapshot(by_mail)
    maya_before = customers._snapshot(maya)
    record = customers.merge_customers(maya, by_mail, agent)
    maya.refresh_from_db()
    assert maya.created_at == by_mail.created_at  # a customer since the first of the two

    restored = customers.undo_merge(record, agent)

    assert restored.pk == by_mail.pk
    assert customers._snapshot(restored) == before
    assert list(restored.identities.values_list("external_id", flat=True)) == ["maya@x.test"]
    assert list(restored.conversations.values_list("pk", flat=True)) == [mail_conversation.pk]
    assert restored.reactions.count() == 1
    maya.refresh_from_db()
    assert customers._snapshot(maya) == maya_before
    assert list(maya.conversations.values_list("pk", flat=True)) == [instagram_conversation.pk]
    assert CustomerMerge.objects.get().undone_at is not None


def test_undo_is_refused_after_a_day(agent, instagram, mailbox):
    maya, by_mail, *_ = two_people(instagram, mailbox)
    record = customers.merge_customers(maya, by_mail, agent)

    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)), pytest.raises(ActionRefused):
        customers.undo_merge(record, agent)
    assert list(customers.undoable_merges(maya)) == [record]


def test_undo_is_refused_twice(agent, instagram, mailbox):
    maya, by_mail, *_ = two_people(instagram, mailbox)
    record = customers.merge_customers(maya, by_mail, agent)
    customers.undo_merge(record, agent)

    with pytest.raises(ActionRefused):
        customers.undo_merge(record, agent)


def test_merge_refused_when_both_have_an_open_conversation_at_one_entry_point(agent, instagram):
    first = factories.make_customer(instagram)
    second = factories.make_customer(instagram)
    factories.make_conversation(entry_point=instagram, customer=first)
    factories.make_conversation(entry_point=instagram, customer=second)

    with pytest.raises(ActionRefused, match="Close one"):
        customers.merge_customers(first, second, agent)
    assert Customer.objects.filter(pk=second.pk).exists()


def test_merge_with_itself_is_refused(agent, instagram):
    maya = factories.make_customer(instagram)
    with pytest.raises(ActionRefused):
        customers.merge_customers(maya, maya, agent)


def test_split_moves_the_identity_and_its_conversations(agent, instagram, mailbox):
    maya, by_mail, instagram_conversation, mail_conversation = two_people(instagram, mailbox)
    customers.merge_customers(maya, by_mail, agent)
    identity = CustomerIdentity.objects.get(external_id="maya@x.test")

    new = customers.split_identity(identity, agent)

    assert new.name == "maya@x.test"
    assert list(new.conversations.values_list("pk", flat=True)) == [mail_conversation.pk]
    assert new.reactions.count() == 1
    assert list(maya.identities.values_list("external_id", flat=True)) == ["IGSID1"]
    assert TimelineItem.objects.filter(metadata__change="identity_split").count() == 2


def test_split_of_the_only_identity_is_refused(agent, instagram):
    maya = factories.make_customer(instagram)
    with pytest.raises(ActionRefused):
        customers.split_identity(maya.identities.get(), agent)


def test_update_details_checks_emails_and_attribute_types(agent, instagram):
    CustomerAttribute.objects.create(key="orders", label="Orders", kind=CustomerAttribute.Kind.NUMBER)
    maya = factories.make_customer(instagram)

    with pytest.raises(ActionRefused, match="not an email"):
        customers.update_details(maya, agent, name="Maya", emails=["nope"], phones=[], notes="", attributes={})
    with pytest.raises(ActionRefused, match="must be a number"):
        customers.update_details(maya, agent, name="Maya", emails=[], phones=[], notes="", attributes={"orders": "x"})

    customers.update_details(
        maya,
        agent,
        name=" Maya ",
        emails=["maya@x.test"],
        phones=["+1 415 555 0100"],
        notes="VIP",
        attributes={"orders": "3"},
    )
    maya.refresh_from_db()
    assert (maya.name, maya.emails, maya.phones, maya.notes, maya.attributes) == (
        "Maya",
        ["maya@x.test"],
        ["+1 415 555 0100"],
        "VIP",
        {"orders": 3},
    )


def test_parse_list_normalizes_and_drops_duplicates():
    assert customers.parse_list("A@X.test, a@x.test\nb@x.test", customers.normalize_email) == ["a@x.test", "b@x.test"]
    assert customers.parse_list("+1 (415) 555-0100", customers.normalize_phone) == ["+14155550100"]


def message(customer_id, **metadata):
    return IncomingMessage(
        message_id=f"mid.{customer_id}",
        customer_id=customer_id,
        occurred_at=timezone.now(),
        text="Hi",
        metadata=metadata,
    )


def test_a_verified_email_links_a_new_identity_to_its_customer(instagram, mailbox):
    factories.make_inbox(default=True)
    maya = factories.make_customer(mailbox, external_id="maya@x.test", name="Maya Lopez")

    received = receive_message(instagram, message("IGSID9", verified_email="Maya@X.test"))

    assert received.item.conversation.customer_id == maya.pk
    assert CustomerIdentity.objects.get(external_id="IGSID9").customer_id == maya.pk


def test_an_unverified_email_only_suggests(instagram, mailbox):
    factories.make_inbox(default=True)
    maya = factories.make_customer(mailbox, external_id="maya@x.test", name="Maya Lopez")

    received = receive_message(instagram, message("IGSID9", email="maya@x.test"))

    visitor = received.item.conversation.customer
    assert visitor.pk != maya.pk
    assert visitor.emails == ["maya@x.test"]
    found = customers.suggestions(visitor, Customer.objects.all())
    assert [(suggestion.value, suggestion.customer) for suggestion in found] == [("maya@x.test", maya)]


def test_no_link_when_two_customers_have_the_email(instagram, mailbox):
    factories.make_inbox(default=True)
    factories.make_customer(mailbox, external_id="maya@x.test")
    factories.make_customer(instagram, emails=["maya@x.test"])

    received = receive_message(instagram, message("IGSID9", verified_email="maya@x.test"))

    assert received.identity_created
    assert received.item.conversation.customer.emails == ["maya@x.test"]


def test_suggestions_ignore_partial_matches(instagram):
    visitor = factories.make_customer(instagram, emails=["ann@x.test"])
    factories.make_customer(instagram, emails=["joann@x.test"])

    assert customers.suggestions(visitor, Customer.objects.all()) == []


def test_activity_spans_conversations_newest_first(instagram, mailbox):
    maya, by_mail, instagram_conversation, mail_conversation = two_people(instagram, mailbox)
    customers.merge_customers(maya, by_mail, None)

    items, has_more = customers.customer_activity(maya.pk, [instagram_conversation.pk, mail_conversation.pk], limit=1)

    assert has_more
    assert items[0].text == "Hi by email"
    older, _ = customers.customer_activity(
        maya.pk, [instagram_conversation.pk, mail_conversation.pk], before=items[0].pk, limit=5
    )
    assert [item.text for item in older] == ["Hi on Instagram"]
