"""Channel and Entry Point settings that are more than a form save."""

from django.db import transaction

from conversations.routing import route_unrouted_conversations

from .models import Channel, EntryPoint, PhoneNumber


class PhoneNumberError(Exception):
    pass


def connect_phone_number(number: PhoneNumber, channel_kind: str) -> EntryPoint:
    """Make a number an Entry Point of the Voice or SMS Channel (a held number, or one on the other Channel).

    A number can be on both Channels: one Entry Point each, same address. The
    first one is `number.entry_point`; `number.entry_points()` lists them all."""
    if channel_kind not in (Channel.Kind.VOICE, Channel.Kind.SMS):
        raise PhoneNumberError("A phone number can be connected to Voice or SMS only.")
    with transaction.atomic():
        number = PhoneNumber.objects.select_for_update().get(pk=number.pk)
        existing = number.entry_point_for(channel_kind)
        if existing is not None and existing.active and number.status == PhoneNumber.Status.CONNECTED:
            raise PhoneNumberError(f"{number.e164} is already connected to {existing.channel}.")
        if existing is not None:  # connected before, released from us, now back: the same Entry Point
            existing.active = True
            existing.save(update_fields=["active"])
            entry_point = existing
        else:
            entry_point = EntryPoint.objects.create(
                channel=Channel.objects.get(kind=channel_kind),
                kind=EntryPoint.Kind.PHONE_NUMBER,
                display_name=number.label or number.e164,
                external_id=number.e164,
            )
        if number.entry_point_id is not None:
            return entry_point
        number.entry_point = entry_point
        number.status = PhoneNumber.Status.CONNECTED
        number.save(update_fields=["entry_point", "status"])
    return entry_point


def set_entry_point_active(entry_point: EntryPoint, active: bool) -> int:
    """Pause or resume an Entry Point. Resuming routes what waited meanwhile;
    returns how many conversations were routed."""
    entry_point.active = active
    entry_point.save(update_fields=["active"])
    if not active:
        return 0
    return route_unrouted_conversations([entry_point])
