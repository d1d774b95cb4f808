"""What the customer pane shows: the person's identities, details, suggested matches and merges to undo."""

from django.db.models import Exists, OuterRef

from conversations import customers
from conversations.models import Conversation, Customer, CustomerAttribute

from . import conversation_list as listing


def visible_customers(user):
    """Customers with at least one conversation in the user's Inboxes."""
    inbox_ids = listing.member_inbox_ids(user)
    return Customer.objects.filter(
        Exists(Conversation.objects.filter(customer_id=OuterRef("pk"), inbox_id__in=inbox_ids))
    )


def customer_context(user, conversation) -> dict:
    """The pane's context besides the conversation's own facts."""
    customer = conversation.customer
    identities = list(customer.identities.select_related("entry_point").order_by("created_at", "pk"))
    values = customer.attributes or {}
    return {
        "identities": identities,
        "attribute_rows": [(attribute, values.get(attribute.key)) for attribute in CustomerAttribute.objects.all()],
        "suggestions": customers.suggestions(customer, visible_customers(user), identities),
        "undoable_merges": list(customers.undoable_merges(customer)),
    }
