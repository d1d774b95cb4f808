"""What agents do to customers: edit their details, merge two into one (and undo it), split an identity off.

Also the two ways identities of one person come together on their own: a
channel's *verified* email or phone linking a new identity to the customer who
has it (`linked_customer`), and a *suggestion* when a customer gave an address
that belongs to somebody else (`suggestions`), left to an agent to merge.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import (
    MERGE_UNDO_WINDOW,
    Conversation,
    Customer,
    CustomerAttribute,
    CustomerIdentity,
    CustomerMerge,
    CustomerReaction,
    TimelineItem,
    change_feed,
)
from .services import ActionRefused, _agent_name, record_status_change

# Entry Point kinds whose customer id is an email address or a phone number.
EMAIL_KINDS = ("email_address",)
PHONE_KINDS = ("phone_number", "whatsapp")
# The Customer fields a merge may change on the survivor (kept to restore on undo).
DETAIL_FIELDS = [
    "name",
    "username",
    "profile_picture",
    "profile_picture_url",
    "created_at",
    "emails",
    "phones",
    "notes",
    "attributes",
]


# --- details ----------------------------------------------------------------


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()


def normalize_phone(value: str) -> str:
    """A phone number as digits with a leading + when it had one (spaces, dashes and dots dropped)."""
    value = (value or "").strip()
    digits = re.sub(r"\D", "", value)
    return f"+{digits}" if value.startswith("+") or value.startswith("00") and digits else digits


def parse_list(text: str, normalize) -> list[str]:
    """One value per line or comma, normalized, duplicates dropped, order kept."""
    values = []
    for part in re.split(r"[\n,;]+", text or ""):
        value = normalize(part)
        if value and value not in values:
            values.append(value)
    return values


def clean_attribute(attribute: CustomerAttribute, raw: str):
    """The stored value of one custom attribute from what the agent typed ('' clears it)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if attribute.kind == CustomerAttribute.Kind.NUMBER:
        try:
            number = float(raw.replace(",", "."))
        except ValueError:
            raise ActionRefused(f"{attribute.label} must be a number.") from None
        return int(number) if number.is_integer() else number
    if attribute.kind == CustomerAttribute.Kind.DATE:
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise ActionRefused(f"{attribute.label} must be a date (YYYY-MM-DD).") from None
    if attribute.kind == CustomerAttribute.Kind.YES_NO:
        return raw.lower() in ("yes", "true", "on", "1")
    return raw[:500]


def update_details(customer: Customer, agent, *, name: str, emails, phones, notes: str, attributes: dict) -> Customer:
    """Save what an agent knows about the person; touches their conversations so open pages show it.

    `attributes` maps each CustomerAttribute key to the typed text; keys of
    attributes admins no longer define are kept as they were."""
    for email in emails:
        try:
            validate_email(email)
        except ValidationError:
            raise ActionRefused(f"“{email}” is not an email address.") from None
    for phone in phones:
        if len(phone.lstrip("+")) < 5:
            raise ActionRefused(f"“{phone}” is not a phone number.")
    values = dict(customer.attributes)
    for attribute in CustomerAttribute.objects.all():
        if attribute.key in attributes:
            value = clean_attribute(attribute, attributes[attribute.key])
            if value is None:
                values.pop(attribute.key, None)
            else:
                values[attribute.key] = value
    with transaction.atomic():
        customer.name = (name or "").strip()[:200]
        customer.emails = list(emails)
        customer.phones = list(phones)
        customer.notes = (notes or "").strip()
        customer.attributes = values
        customer.save(update_fields=["name", "emails", "phones", "notes", "attributes"])
        _touch_conversations(customer.pk)
    return customer


def _touch_conversations(customer_id, conversation_ids=None):
    conversations = Conversation.objects.filter(customer_id=customer_id)
    if conversation_ids is not None:
        conversations = Conversation.objects.filter(pk__in=conversation_ids)
    # Not `touch`: the list's order by activity must not change because of a name.
    conversations.update(updated_at=timezone.now())
    change_feed.mark_changed(conversations.values_list("pk", flat=True))


def contacts(customer: Customer, identities=None) -> list[str]:
    """The person's emails and phone numbers: the ones agents keep and the ids of their email and phone identities."""
    identities = customer.identities.select_related("entry_point") if identities is None else identities
    values = list(customer.emails) + list(customer.phones)
    for identity in identities:
        if identity.entry_point.kind in EMAIL_KINDS:
            values.append(normalize_email(identity.external_id))
        elif identity.entry_point.kind in PHONE_KINDS:
            values.append(normalize_phone(identity.external_id))
    return list(dict.fromkeys(value for value in values if value))


def customers_with_contact(value: str, exclude=None):
    """Customers who have this email or phone, as a detail or as the id of one of their identities."""
    if "@" in value:
        value = normalize_email(value)
        kept = Q(emails__icontains=value)
        identity = Q(identities__entry_point__kind__in=EMAIL_KINDS, identities__external_id__iexact=value)
    else:
        value = normalize_phone(value)
        kept = Q(phones__icontains=value)
        identity = Q(
            identities__entry_point__kind__in=PHONE_KINDS, identities__external_id__in=[value, value.lstrip("+")]
        )
    found = Customer.objects.filter(kept | identity).distinct()
    if exclude is not None:
        found = found.exclude(pk=exclude.pk)
    # icontains finds "ann@x.com" in "joann@x.com" too: keep exact holders only.
    return [customer for customer in found[:20] if value in contacts(customer)]


# --- linking and suggestions -------------------------------------------------


def linked_customer(metadata: dict) -> Customer | None:
    """The existing customer a new identity belongs to, when the channel vouches for it.

    Only a verified email or phone (`metadata["verified_email"]`,
    `metadata["verified_phone"]`) held by exactly one customer links; anything
    less certain is left to `suggestions`."""
    for key in ("verified_email", "verified_phone"):
        value = metadata.get(key)
        if not value:
            continue
        holders = customers_with_contact(value)
        if len(holders) == 1:
            return holders[0]
    return None


def given_contacts(metadata: dict) -> tuple[list[str], list[str]]:
    """Emails and phones the customer gave (verified or not), to keep on a new customer."""
    emails = [normalize_email(metadata[key]) for key in ("verified_email", "email") if metadata.get(key)]
    phones = [normalize_phone(metadata[key]) for key in ("verified_phone", "phone") if metadata.get(key)]
    return list(dict.fromkeys(emails)), list(dict.fromkeys(phones))


@dataclass(frozen=True)
class Suggestion:
    value: str
    customer: Customer


def suggestions(customer: Customer, visible_customers, identities=None, limit: int = 3) -> list[Suggestion]:
    """Other customers (among those the agent may see) who have one of this customer's emails or phones."""
    values = contacts(customer, identities)[:5]
    if not values:
        return []
    # One indexed look-up per field and value (an OR across the identity join would read every customer).
    parts = []
    for value in values:
        field = "emails" if "@" in value else "phones"
        parts.append(Customer.objects.filter(**{f"{field}__icontains": value}).values("pk"))
        parts.append(CustomerIdentity.objects.filter(external_id__icontains=value.lstrip("+")).values("customer_id"))
    ids = [pk for (pk,) in parts[0].union(*parts[1:]).values_list("pk")[:50] if pk != customer.pk]
    if not ids:
        return []
    found = []
    for other in visible_customers.filter(pk__in=ids).prefetch_related("identities__entry_point")[:10]:
        theirs = contacts(other, other.identities.all())
        shared = next((value for value in values if value in theirs), None)
        if shared:
            found.append(Suggestion(shared, other))
    return found[:limit]


# --- merge, undo, split ------------------------------------------------------


def _snapshot(customer: Customer) -> dict:
    return {
        "name": customer.name,
        "username": customer.username,
        "profile_picture": customer.profile_picture.name if customer.profile_picture else "",
        "profile_picture_url": customer.profile_picture_url,
        "profile_fetched_at": customer.profile_fetched_at.isoformat() if customer.profile_fetched_at else None,
        "created_at": customer.created_at.isoformat(),
        "emails": list(customer.emails),
        "phones": list(customer.phones),
        "notes": customer.notes,
        "attributes": dict(customer.attributes),
    }


def _restore(data: dict) -> dict:
    values = dict(data)
    for key in ("profile_fetched_at", "created_at"):
        if values.get(key):
            values[key] = datetime.fromisoformat(values[key])
    return values


def _latest_conversation(customer_id) -> Conversation | None:
    return Conversation.objects.filter(customer_id=customer_id).order_by("-last_activity_at", "-pk").first()


def merge_customers(survivor: Customer, merged: Customer, agent) -> CustomerMerge:
    """Make two customers one: `merged`'s identities, conversations and reactions move to `survivor`.

    The survivor keeps its details and gains the other's emails, phones, notes
    and the attributes it lacks. Everything that moved is recorded in a
    CustomerMerge, which `undo_merge` reverses for a day; an audit item goes
    into the survivor's latest conversation."""
    if survivor.pk == merged.pk:
        raise ActionRefused("Choose another customer to merge with.")
    with transaction.atomic():
        survivor, merged = (
            Customer.objects.select_for_update().get(pk=survivor.pk),
            Customer.objects.select_for_update().get(pk=merged.pk),
        )
        active = ~Q(status=Conversation.Status.CLOSED)
        both_open = set(
            Conversation.objects.filter(active, customer=survivor).values_list("entry_point_id", flat=True)
        ) & set(Conversation.objects.filter(active, customer=merged).values_list("entry_point_id", flat=True))
        if both_open:
            raise ActionRefused(
                "Both customers have a conversation open at the same Entry Point. Close one of them, then merge."
            )
        record = CustomerMerge.objects.create(
            survivor=survivor,
            merged_customer_id=merged.pk,
            merged_customer=_snapshot(merged),
            survivor_before={key: value for key, value in _snapshot(survivor).items() if key in DETAIL_FIELDS},
            identity_ids=list(merged.identities.values_list("pk", flat=True)),
            conversation_ids=list(merged.conversations.values_list("pk", flat=True)),
            reaction_ids=list(merged.reactions.values_list("pk", flat=True)),
            merged_by=agent,
        )
        survivor_name = survivor.display_name
        CustomerIdentity.objects.filter(pk__in=record.identity_ids).update(customer=survivor)
        Conversation.objects.filter(pk__in=record.conversation_ids).update(customer=survivor)
        CustomerReaction.objects.filter(pk__in=record.reaction_ids).update(customer=survivor)
        for field in ("name", "username", "profile_picture", "profile_picture_url"):
            if not getattr(survivor, field) and getattr(merged, field):
                setattr(survivor, field, getattr(merged, field))
        survivor.emails = list(dict.fromkeys(survivor.emails + merged.emails))
        survivor.phones = list(dict.fromkeys(survivor.phones + merged.phones))
        if merged.notes:
            survivor.notes = "\n\n".join(part for part in (survivor.notes, merged.notes) if part)
        survivor.attributes = {**merged.attributes, **survivor.attributes}
        survivor.created_at = min(survivor.created_at, merged.created_at)  # a customer since the first of the two
        survivor.save()
        merged.delete()
        latest = _latest_conversation(survivor.pk)
        if latest is not None:
            record_status_change(
                latest,
                agent,
                f"{_agent_name(agent)} merged {record.merged_name} into {survivor_name}",
                change="customers_merged",
                merge_id=record.pk,
            )
        _touch_conversations(survivor.pk)
    return record


def undo_merge(record: CustomerMerge, agent) -> Customer:
    """Reverse a merge within a day: the other customer comes back with its id, details and everything that moved."""
    with transaction.atomic():
        record = CustomerMerge.objects.select_for_update().select_related("survivor").get(pk=record.pk)
        if not record.can_undo():
            raise ActionRefused("This merge can no longer be undone (after a day, or undone already).")
        survivor = Customer.objects.select_for_update().get(pk=record.survivor_id)
        restored = Customer.objects.create(pk=record.merged_customer_id, **_restore(record.merged_customer))
        moved_identities = CustomerIdentity.objects.filter(pk__in=record.identity_ids, customer=survivor)
        entry_point_ids = set(moved_identities.values_list("entry_point_id", flat=True))
        moved_identities.update(customer=restored)
        # Conversations the moved identities started after the merge go with them,
        # unless the survivor has an identity of its own at that Entry Point.
        kept_entry_points = set(survivor.identities.values_list("entry_point_id", flat=True))
        later = Conversation.objects.filter(
            customer=survivor, entry_point_id__in=entry_point_ids - kept_entry_points, opened_at__gte=record.merged_at
        ).values_list("pk", flat=True)
        conversation_ids = set(record.conversation_ids) | set(later)
        Conversation.objects.filter(pk__in=conversation_ids, customer=survivor).update(customer=restored)
        CustomerReaction.objects.filter(pk__in=record.reaction_ids, customer=survivor).update(customer=restored)
        for field, value in _restore(record.survivor_before).items():
            setattr(survivor, field, value)
        survivor.save()
        record.undone_at = timezone.now()
        record.save(update_fields=["undone_at"])
        latest = _latest_conversation(survivor.pk)
        if latest is not None:
            record_status_change(
                latest,
                agent,
                f"{_agent_name(agent)} undid the merge of {restored.display_name} into {survivor.display_name}",
                change="customers_unmerged",
                merge_id=record.pk,
            )
        _touch_conversations(survivor.pk)
        _touch_conversations(restored.pk)
    return restored


def undoable_merges(customer: Customer):
    """The merges into this customer an agent can still undo, newest first."""
    return CustomerMerge.objects.filter(
        survivor=customer, undone_at__isnull=True, merged_at__gt=timezone.now() - MERGE_UNDO_WINDOW
    )


def split_identity(identity: CustomerIdentity, agent) -> Customer:
    """Make an identity a customer of its own, with its conversations and reactions at that Entry Point."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=identity.customer_id)
        identity = CustomerIdentity.objects.select_related("entry_point").get(pk=identity.pk)
        others = customer.identities.exclude(pk=identity.pk)
        if not others.exists():
            raise ActionRefused("This is the customer's only identity: there is nothing to split it from.")
        if others.filter(entry_point_id=identity.entry_point_id).exists():
            raise ActionRefused(
                "The customer has another identity at this Entry Point, so their conversations there cannot be "
                "told apart. Undo the merge instead."
            )
        kind = identity.entry_point.kind
        name = identity.external_id if kind in EMAIL_KINDS + PHONE_KINDS else ""
        new = Customer.objects.create(name=name[:200])
        identity.customer = new
        identity.save(update_fields=["customer"])
        moved = list(
            Conversation.objects.filter(customer=customer, entry_point_id=identity.entry_point_id).values_list(
                "pk", flat=True
            )
        )
        Conversation.objects.filter(pk__in=moved).update(customer=new)
        CustomerReaction.objects.filter(customer=customer, entry_point_id=identity.entry_point_id).update(customer=new)
        text = (
            f"{_agent_name(agent)} split {identity.external_id} at {identity.entry_point} off {customer.display_name}"
        )
        for target in filter(None, (_latest_conversation(customer.pk), _latest_conversation(new.pk))):
            record_status_change(target, agent, text, change="identity_split", identity_id=identity.pk)
        _touch_conversations(customer.pk)
        _touch_conversations(new.pk)
    return new


def customer_activity(customer_id, conversation_ids, before: int | None = None, limit: int = 30):
    """The person's timeline across these conversations (every channel), newest first, `limit` at a time."""
    items = (
        TimelineItem.objects.filter(conversation_id__in=conversation_ids)
        .exclude(kind__in=[TimelineItem.Kind.STATUS_CHANGE, TimelineItem.Kind.AGENT_LIKE])
        .select_related("entry_point", "conversation", "author")
        .order_by("-occurred_at", "-id")
    )
    if before:
        anchor = TimelineItem.objects.filter(pk=before, conversation_id__in=conversation_ids).values("occurred_at")
        anchor = anchor.first()
        if anchor:
            items = items.filter(
                Q(occurred_at__lt=anchor["occurred_at"]) | Q(occurred_at=anchor["occurred_at"], pk__lt=before)
            )
    page = list(items[: limit + 1])
    return page[:limit], len(page) > limit
