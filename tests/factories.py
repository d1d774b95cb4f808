"""Small helpers to make the objects tests need, with sensible defaults."""

import itertools

from django.utils import timezone

from channels_app.meta.models import InstagramAccount, MessengerPage, WhatsAppNumber
from channels_app.models import Channel, EntryPoint
from conversations.models import Conversation, Customer, CustomerIdentity, TimelineItem
from inbox.models import AgentAvailability, Inbox, InboxMembership, User

_sequence = itertools.count(1)


def channel(kind=Channel.Kind.MESSAGING):
    # get_or_create: transactional tests flush the rows the data migration made.
    return Channel.objects.get_or_create(kind=kind)[0]


def make_inbox(name=None, kind=Channel.Kind.MESSAGING, default=False, members=()):
    inbox = Inbox.objects.create(name=name or f"Inbox {next(_sequence)}", channel=channel(kind))
    if default:
        inbox.channel.default_inbox = inbox
        inbox.channel.save(update_fields=["default_inbox"])
    for member in members:
        InboxMembership.objects.create(inbox=inbox, user=member)
    return inbox


def make_user(role=User.Role.AGENT, email=None, password="pw-for-tests-123", **fields):
    n = next(_sequence)
    fields.setdefault("first_name", f"User{n}")
    return User.objects.create_user(email or f"user{n}@example.test", password, role=role, **fields)


def make_admin(**fields):
    return make_user(role=User.Role.ADMIN, **fields)


def make_available(user, kind=Channel.Kind.MESSAGING):
    return AgentAvailability.objects.update_or_create(
        user=user, channel=channel(kind), defaults={"status": AgentAvailability.Status.AVAILABLE}
    )[0]


def make_entry_point(kind=EntryPoint.Kind.INSTAGRAM, channel_kind=Channel.Kind.MESSAGING, active=True, **fields):
    n = next(_sequence)
    fields.setdefault("display_name", f"@account{n}")
    fields.setdefault("external_id", f"1784140000{n:07d}")
    return EntryPoint.objects.create(channel=channel(channel_kind), kind=kind, active=active, **fields)


def make_instagram_account(entry_point=None, token="page-token-secret", **fields):
    entry_point = entry_point or make_entry_point()
    n = next(_sequence)
    fields.setdefault("page_id", f"10000000{n:07d}")
    fields.setdefault("page_name", f"Page {n}")
    fields.setdefault("username", entry_point.display_name.lstrip("@"))
    return InstagramAccount.objects.create(
        entry_point=entry_point, ig_user_id=entry_point.external_id, page_access_token=token, **fields
    )


def make_customer(entry_point=None, external_id=None, **fields):
    n = next(_sequence)
    fields.setdefault("name", f"Customer {n}")
    customer = Customer.objects.create(**fields)
    if entry_point is not None:
        CustomerIdentity.objects.create(
            customer=customer, entry_point=entry_point, external_id=external_id or f"IGSID{n}"
        )
    return customer


def make_conversation(inbox=None, entry_point=None, customer=None, **fields):
    entry_point = entry_point or make_entry_point()
    customer = customer or make_customer(entry_point)
    return Conversation.objects.create(customer=customer, entry_point=entry_point, inbox=inbox, **fields)


def make_item(conversation, kind=TimelineItem.Kind.CUSTOMER_MESSAGE, text="Hello", **fields):
    direction = {
        TimelineItem.Kind.CUSTOMER_MESSAGE: TimelineItem.Direction.INBOUND,
        TimelineItem.Kind.NOTE: TimelineItem.Direction.INTERNAL,
        TimelineItem.Kind.STATUS_CHANGE: TimelineItem.Direction.INTERNAL,
    }.get(kind, TimelineItem.Direction.OUTBOUND)
    fields.setdefault("occurred_at", timezone.now())
    return TimelineItem.objects.create(
        conversation=conversation,
        entry_point=conversation.entry_point,
        kind=kind,
        direction=direction,
        text=text,
        **fields,
    )


def make_messenger_page(page_id="100000000000001", page_name="Acme Shoes", token="page-token-secret", **fields):
    entry_point = make_entry_point(kind=EntryPoint.Kind.MESSENGER, display_name=page_name, external_id=page_id)
    return MessengerPage.objects.create(
        entry_point=entry_point, page_id=page_id, page_name=page_name, page_access_token=token, **fields
    )


def make_whatsapp_number(phone_number_id="106540352242922", waba_id="102290129340398", token="wa-token", **fields):
    fields.setdefault("display_phone_number", "+1 555-078-3881")
    entry_point = make_entry_point(
        kind=EntryPoint.Kind.WHATSAPP,
        display_name=f"WhatsApp {fields['display_phone_number']}",
        external_id=phone_number_id,
    )
    return WhatsAppNumber.objects.create(
        entry_point=entry_point, phone_number_id=phone_number_id, waba_id=waba_id, access_token=token, **fields
    )
