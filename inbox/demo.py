"""The demo installation that `make run` loads into an empty database."""

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app.models import Channel, EntryPoint, InstagramAccount, PhoneNumber

from .models import Inbox, InboxMembership, User

DEMO_USERS = [
    # email, password, first name, last name, role, inboxes
    ("admin@demo.test", "demo-admin-password", "Alex", "Admin", User.Role.ADMIN, ["Instagram", "VIP"]),
    ("ada@demo.test", "demo-agent-password", "Ada", "Agent", User.Role.AGENT, ["Instagram", "VIP"]),
    ("ben@demo.test", "demo-agent-password", "Ben", "Agent", User.Role.AGENT, ["Email", "Chat"]),
]
DEMO_INBOXES = [
    # name, channel kind, default for its channel
    ("Instagram", Channel.Kind.MESSAGING, True),
    ("VIP", Channel.Kind.MESSAGING, False),
    ("Email", Channel.Kind.EMAIL, True),
    ("Chat", Channel.Kind.CHAT, True),
]
# The sandbox's first demo account; its ids match the sandbox's fake Graph API.
DEMO_INSTAGRAM = {
    "page_id": "100000000000001",
    "page_name": "Acme Shoes",
    "ig_user_id": "17841400000000001",
    "username": "acmeshoes",
    "name": "Acme Shoes",
}


def demo_loaded() -> bool:
    return User.objects.exists()


@transaction.atomic
def seed_demo() -> None:
    """Create the demo users, inboxes and the sandbox Instagram account."""
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

    entry_point = EntryPoint.objects.create(
        channel=channels[Channel.Kind.MESSAGING],
        kind=EntryPoint.Kind.INSTAGRAM,
        display_name=f"@{DEMO_INSTAGRAM['username']}",
        external_id=DEMO_INSTAGRAM["ig_user_id"],
    )
    InstagramAccount.objects.create(
        entry_point=entry_point,
        added_by=users["admin@demo.test"],
        added_on=timezone.now(),
        page_access_token=_demo_page_token(),
        **DEMO_INSTAGRAM,
    )
    PhoneNumber.objects.create(e164="+14155550100", label="US support line")
    if settings.META_SANDBOX:
        from sandbox.demo import seed_conversations

        seed_conversations()


def _demo_page_token() -> str:
    # Only the sandbox's Graph API accepts (and issues) the demo Page's token;
    # without the sandbox the sandbox app is not installed, so it is not imported.
    if settings.META_SANDBOX:
        from sandbox.demo_data import page_token

        return page_token(DEMO_INSTAGRAM["page_id"])
    return "demo-page-token-without-the-sandbox"  # noqa: S105 (no real Graph API accepts it)


def totp_secret(user: User) -> str:
    from allauth.mfa.utils import decrypt

    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return decrypt(authenticator.data["secret"])


def current_totp_code(user: User) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(totp_secret(user), counter))
