"""The demo installation that `make run` loads into an empty database."""

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from channels_app.models import Channel, PhoneNumber

from .models import Inbox, InboxMembership, User

DEMO_USERS = [
    # email, password, first name, last name, role, inboxes
    ("admin@demo.test", "demo-admin-password", "Alex", "Admin", User.Role.ADMIN, ["Instagram", "VIP"]),
    ("ada@demo.test", "demo-agent-password", "Ada", "Agent", User.Role.AGENT, ["Instagram", "VIP", "Email"]),
    ("ben@demo.test", "demo-agent-password", "Ben", "Agent", User.Role.AGENT, ["Email", "Chat"]),
]
DEMO_INBOXES = [
    # name, channel kind, default for its channel
    ("Instagram", Channel.Kind.MESSAGING, True),
    ("VIP", Channel.Kind.MESSAGING, False),
    ("Email", Channel.Kind.EMAIL, True),
    ("Chat", Channel.Kind.CHAT, True),
]


def demo_loaded() -> bool:
    return User.objects.exists()


@transaction.atomic
def seed_demo() -> None:
    """Create the demo users and inboxes, then the channels' demo data (DEMO_SEEDERS)."""
    channels = {channel.kind: channel for channel in Channel.objects.all()}
    inboxes = {}
    for name, kind, is_default in DEMO_INBOXES:
        inboxes[name] = Inbox.objects.create(name=name, channel=channels[kind])
        if is_default:
            channels[kind].default_inbox = inboxes[name]
            channels[kind].save(update_fields=["default_inbox"])

    users = {}
    for email, password, first, last, role, member_of in DEMO_USERS:
        user = User.objects.create_user(email, password, first_name=first, last_name=last, role=role)
        users[email] = user
        for inbox_name in member_of:
            InboxMembership.objects.create(inbox=inboxes[inbox_name], user=user)
    TOTP.activate(users["admin@demo.test"], generate_totp_secret())

    PhoneNumber.objects.create(e164="+14155550100", label="US support line")
    # The channels' demo data (the providers' sandboxes) comes from the seeders
    # the settings name, so that production never loads a sandbox.
    for seeder in settings.DEMO_SEEDERS:
        import_string(seeder)(admin=users["admin@demo.test"])


def totp_secret(user: User) -> str:
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return decrypt(authenticator.data["secret"])


def current_totp_code(user: User) -> str:
    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(totp_secret(user), counter))
