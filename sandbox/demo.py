"""Demo conversations for `make run`, so the inbox is not empty on first look."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from channels_app.meta import inbound, parser
from channels_app.meta.models import InstagramAccount
from channels_app.models import Channel, EntryPoint
from conversations import services
from conversations.models import Conversation, TimelineItem
from inbox.models import User

from . import demo_data, webhooks
from .models import SandboxCustomerMessage, SandboxSend

SCRIPT = [
    # customer index, minutes ago, text
    (0, 18, "Hi! Do you ship to Spain? I'd love the red trainers in size 38."),
    (1, 130, "My order #1042 still hasn't arrived, it's been 9 days."),
    (2, 26 * 60, "Thank you, the shoes fit perfectly!"),
]


# The sandbox's first demo account; its ids match the sandbox's fake Graph API.
DEMO_INSTAGRAM = {
    "page_id": "100000000000001",
    "page_name": "Acme Shoes",
    "ig_user_id": "17841400000000001",
    "username": "acmeshoes",
    "name": "Acme Shoes",
}


@transaction.atomic
def seed(admin) -> None:
    """The sandbox's Instagram account and a few conversations (DEMO_SEEDERS with the sandbox on)."""
    entry_point = EntryPoint.objects.create(
        channel=Channel.objects.get(kind=Channel.Kind.MESSAGING),
        kind=EntryPoint.Kind.INSTAGRAM,
        display_name=f"@{DEMO_INSTAGRAM['username']}",
        external_id=DEMO_INSTAGRAM["ig_user_id"],
    )
    InstagramAccount.objects.create(
        entry_point=entry_point,
        added_by=admin,
        added_on=timezone.now(),
        page_access_token=demo_data.page_token(DEMO_INSTAGRAM["page_id"]),
        **DEMO_INSTAGRAM,
    )
    seed_conversations()


def seed_conversations() -> None:
    account = InstagramAccount.objects.select_related("entry_point").get(ig_user_id=demo_data.PAGES[0]["ig_id"])
    now = timezone.now()
    for index, minutes_ago, text in SCRIPT:
        person = demo_data.CUSTOMERS[index]
        mid = webhooks.new_mid()
        at = now - timedelta(minutes=minutes_ago)
        inbound.handle_event(
            account.entry_point,
            parser.InboundMessage(account.ig_user_id, person["igsid"], account.ig_user_id, at, mid=mid, text=text),
        )
        SandboxCustomerMessage.objects.create(
            ig_id=account.ig_user_id, igsid=person["igsid"], mid=mid, kind="text", text=text, body="{}", created_at=at
        )
        conversation = Conversation.objects.get(customer__identities__external_id=person["igsid"])
        customer = conversation.customer
        customer.name, customer.username = person["name"], person["username"]
        customer.save(update_fields=["name", "username"])

    ada = User.objects.get(email="ada@demo.test")
    jonas = Conversation.objects.get(customer__identities__external_id=demo_data.CUSTOMERS[1]["igsid"])
    services.assign_conversation(jonas, ada, ada)
    # As if Ada took it when it came in, before her reply.
    TimelineItem.objects.filter(conversation=jonas, kind=TimelineItem.Kind.STATUS_CHANGE).update(
        occurred_at=now - timedelta(minutes=125)
    )
    reply_mid = webhooks.new_mid()
    reply_text = "Sorry Jonas! I'm checking with the courier now and will update you within the hour."
    TimelineItem.objects.create(
        conversation=jonas,
        entry_point=account.entry_point,
        kind=TimelineItem.Kind.AGENT_MESSAGE,
        direction=TimelineItem.Direction.OUTBOUND,
        author=ada,
        text=reply_text,
        external_id=reply_mid,
        occurred_at=now - timedelta(minutes=110),
        delivery_status=TimelineItem.Delivery.READ,
    )
    SandboxSend.objects.create(
        page_id=account.page_id,
        recipient_id=demo_data.CUSTOMERS[1]["igsid"],
        message_id=reply_mid,
        kind="text",
        text=reply_text,
        created_at=now - timedelta(minutes=110),
    )
    Conversation.objects.filter(pk=jonas.pk).update(
        first_response_at=now - timedelta(minutes=110), sla_due_at=None, status=Conversation.Status.WAITING
    )

    aiko = Conversation.objects.get(customer__identities__external_id=demo_data.CUSTOMERS[2]["igsid"])
    services.close_conversation(aiko, ada)
