"""The customer pane: identities, details, activity across channels, merge, undo and split from the inbox."""

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Channel, EntryPoint
from conversations.models import Conversation, Customer, CustomerAttribute, CustomerMerge
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return factories.make_user(first_name="Ada")


@pytest.fixture
def inbox(agent):
    return factories.make_inbox(name="Support", members=[agent])


@pytest.fixture
def mail_inbox(agent):
    return factories.make_inbox(name="Email", kind=Channel.Kind.EMAIL, members=[agent])


@pytest.fixture
def instagram():
    return factories.make_entry_point(display_name="@acmeshoes")


@pytest.fixture
def mailbox():
    return factories.make_entry_point(
        kind=EntryPoint.Kind.EMAIL_ADDRESS, channel_kind=Channel.Kind.EMAIL, display_name="help@acme.test"
    )


@pytest.fixture
def conversation(inbox, instagram):
    maya = factories.make_customer(instagram, external_id="IGSID1", name="Maya Lopez")
    conversation = factories.make_conversation(inbox=inbox, entry_point=instagram, customer=maya)
    factories.make_item(conversation, text="Where is my order?")
    return conversation


@pytest.fixture
def by_mail(mail_inbox, mailbox):
    """The same person by email, a customer of their own so far."""
    customer = factories.make_customer(mailbox, external_id="maya@x.test", name="M. Lopez", emails=["maya@x.test"])
    conversation = factories.make_conversation(
        inbox=mail_inbox,
        entry_point=mailbox,
        customer=customer,
        status=Conversation.Status.CLOSED,
        closed_at=timezone.now(),
    )
    factories.make_item(conversation, text="Invoice please", metadata={"subject": "Invoice"})
    return customer


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def url(name, conversation, *args):
    return reverse(f"inbox:{name}", args=[conversation.pk, *args])


def test_pane_shows_every_identity(agent_client, conversation, by_mail):
    conversation.customer.emails = ["maya@x.test"]
    conversation.customer.save()

    page = agent_client.get(url("conversation", conversation)).content.decode()

    assert "IGSID1" in page
    assert "M. Lopez" in page and "which belongs to" in page  # the suggestion


def test_activity_lists_items_of_every_channel_newest_first(agent_client, conversation, by_mail):
    Conversation.objects.filter(customer=by_mail).update(customer=conversation.customer)

    page = agent_client.get(url("customer_activity", conversation)).content.decode()

    assert page.index("Invoice") < page.index("Where is my order?")
    assert "help@acme.test" in page and "@acmeshoes" in page


def test_activity_hides_conversations_of_other_inboxes(agent_client, conversation, mailbox):
    other_inbox = factories.make_inbox(name="Secret", kind=Channel.Kind.EMAIL)
    hidden = factories.make_conversation(inbox=other_inbox, entry_point=mailbox, customer=conversation.customer)
    factories.make_item(hidden, text="Confidential")

    page = agent_client.get(url("customer_activity", conversation)).content.decode()

    assert "Confidential" not in page
    assert "1 more conversation in inboxes you are not in" in page


def test_edit_saves_details_and_attributes(agent_client, conversation):
    CustomerAttribute.objects.create(key="plan", label="Plan")

    form = agent_client.get(url("customer_edit", conversation)).content.decode()
    assert 'name="attr:plan"' in form
    response = agent_client.post(
        url("customer_edit", conversation),
        {"name": "Maya L.", "emails": "maya@x.test", "phones": "+1 415 555 0100", "notes": "VIP", "attr:plan": "Pro"},
    )

    assert "Maya L." in response.content.decode() and "Pro" in response.content.decode()
    customer = Customer.objects.get(pk=conversation.customer_id)
    assert (customer.name, customer.emails, customer.phones, customer.notes, customer.attributes) == (
        "Maya L.",
        ["maya@x.test"],
        ["+14155550100"],
        "VIP",
        {"plan": "Pro"},
    )


def test_edit_with_a_bad_email_keeps_the_form(agent_client, conversation):
    response = agent_client.post(url("customer_edit", conversation), {"name": "Maya", "emails": "not-an-email"})

    page = response.content.decode()
    assert "is not an email address" in page and "not-an-email" in page
    assert Customer.objects.get(pk=conversation.customer_id).emails == []


def test_merge_then_undo_from_the_pane(agent_client, conversation, by_mail):
    response = agent_client.post(url("customer_merge", conversation), {"other": by_mail.pk}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert not Customer.objects.filter(pk=by_mail.pk).exists()
    assert "was merged into this customer" in response.content.decode()
    record = CustomerMerge.objects.get()

    agent_client.post(url("undo_merge", conversation, record.pk), HTTP_HX_REQUEST="true")

    assert Customer.objects.get(pk=by_mail.pk).identities.get().external_id == "maya@x.test"


def test_cannot_merge_a_customer_the_agent_cannot_see(agent_client, conversation, mailbox):
    stranger = factories.make_customer(mailbox)
    factories.make_conversation(inbox=factories.make_inbox(name="Secret"), entry_point=mailbox, customer=stranger)

    agent_client.post(url("customer_merge", conversation), {"other": stranger.pk})

    assert Customer.objects.filter(pk=stranger.pk).exists()


def test_merge_candidates_find_by_email(agent_client, conversation, by_mail):
    page = agent_client.get(url("merge_candidates", conversation), {"q": "maya@x"}).content.decode()

    assert "M. Lopez" in page and f'value="{by_mail.pk}"' in page


def test_split_from_the_pane(agent_client, conversation, by_mail):
    Conversation.objects.filter(customer=by_mail).update(customer=conversation.customer)
    by_mail.identities.update(customer=conversation.customer)
    identity = conversation.customer.identities.get(external_id="maya@x.test")

    agent_client.post(url("split_identity", conversation, identity.pk), HTTP_HX_REQUEST="true")

    identity.refresh_from_db()
    assert identity.customer_id != conversation.customer_id


def test_outsider_cannot_see_or_change_the_customer(client, conversation):
    outsider = factories.make_user()
    factories.make_inbox(name="Other", members=[outsider])
    client.force_login(outsider)

    assert client.get(url("customer_activity", conversation)).status_code == 404
    assert client.post(url("customer_edit", conversation), {"name": "Hacked"}).status_code == 404
    assert Customer.objects.get(pk=conversation.customer_id).name == "Maya Lopez"
