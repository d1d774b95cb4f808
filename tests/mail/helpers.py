from channels_app.mail.models import EmailAddress
from channels_app.models import Channel, EntryPoint
from tests.factories import make_entry_point


def make_email_address(address="support@acme.com", **fields):
    entry_point = make_entry_point(
        kind=EntryPoint.Kind.EMAIL_ADDRESS, channel_kind=Channel.Kind.EMAIL, display_name=address, external_id=address
    )
    fields.setdefault("display_name", "Acme Support")
    return EmailAddress.objects.create(entry_point=entry_point, address=address, **fields)
