"""Demo conversations for `make run`, so the inbox is not empty on first look."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from channels_app.meta import parser
from channels_app.models import InstagramAccount
from conversations import inbound, services
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


@transaction.atomic
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
