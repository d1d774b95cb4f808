"""Settings › Phone numbers: an account's credentials checked, numbers bought, imported, connected, released.

Numbers are stored E.164 and shown formatted. A bought or imported number is
*held*: ours at Twilio, no Entry Point yet. Connecting it makes it an Entry
Point of the SMS and/or Voice Channel and points its webhooks at us; releasing
gives it back to Twilio (its Entry Points are paused, their conversations kept).
"""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Channel, PhoneNumber
from channels_app.services import connect_phone_number, set_entry_point_active

from .models import TwilioAccount, TwilioNumber
from .numbers import format_number
from .provider import OwnedNumber, ProviderError, TwilioProvider


class SetupError(Exception):
    """What went wrong, in words for the admin."""


def provider(account: TwilioAccount) -> TwilioProvider:
    return TwilioProvider.for_account(account)


def check_credentials(account_sid: str, auth_token: str, api_key_sid: str = "", api_key_secret: str = "") -> str:
    """The account's name at Twilio, or SetupError when Twilio refuses the credentials."""
    try:
        return TwilioProvider(
            account_sid, auth_token=auth_token, api_key_sid=api_key_sid, api_key_secret=api_key_secret
        ).account_name()
    except ProviderError as error:
        raise SetupError(error.message) from error


def _hold(account: TwilioAccount, owned: OwnedNumber, label: str = "") -> PhoneNumber:
    with transaction.atomic():
        number, _ = PhoneNumber.objects.get_or_create(e164=owned.e164, defaults={"label": label[:100]})
        TwilioNumber.objects.update_or_create(
            phone_number=number,
            defaults={
                "account": account,
                "number_sid": owned.sid,
                "sms": owned.capabilities.sms,
                "voice": owned.capabilities.voice,
                "mms": owned.capabilities.mms,
            },
        )
    return number


def buy(account: TwilioAccount, e164: str, label: str = "") -> PhoneNumber:
    """Buy the number at Twilio; it is held until connected."""
    try:
        owned = provider(account).buy(e164)
    except ProviderError as error:
        raise SetupError(f"Twilio did not sell {format_number(e164)}: {error.message}") from error
    return _hold(account, owned, label)


def importable(account: TwilioAccount) -> list[OwnedNumber]:
    """Numbers the account owns at Twilio that we do not hold yet."""
    try:
        owned = provider(account).list_owned()
    except ProviderError as error:
        raise SetupError(error.message) from error
    held = set(TwilioNumber.objects.values_list("number_sid", flat=True))
    return [number for number in owned if number.sid not in held]


def import_numbers(account: TwilioAccount, sids) -> list[PhoneNumber]:
    wanted = set(sids)
    return [_hold(account, owned) for owned in importable(account) if owned.sid in wanted]


def webhook_urls() -> dict:
    def url(name):
        return settings.SITE_URL + reverse(f"telephony:{name}")

    return {"sms_url": url("sms"), "voice_url": url("voice"), "status_callback": url("voice_status")}


def connect(number: PhoneNumber, channel_kinds) -> list:
    """Make the number an Entry Point of these Channels and send its texts and calls to us."""
    twilio = TwilioNumber.objects.select_related("account").filter(phone_number=number).first()
    if twilio is None:
        raise SetupError(f"{format_number(number.e164)} is not a Twilio number of a connected account.")
    kinds = [kind for kind in (Channel.Kind.SMS, Channel.Kind.VOICE) if kind in channel_kinds]
    if not kinds:
        raise SetupError("Choose SMS, Voice or both.")
    if Channel.Kind.SMS in kinds and not twilio.sms:
        raise SetupError(f"{format_number(number.e164)} cannot send or receive text messages.")
    if Channel.Kind.VOICE in kinds and not twilio.voice:
        raise SetupError(f"{format_number(number.e164)} cannot take calls.")
    try:
        provider(twilio.account).configure(twilio.number_sid, **webhook_urls())
    except ProviderError as error:
        raise SetupError(f"Twilio did not accept the webhook addresses: {error.message}") from error
    twilio.webhooks_configured_at = timezone.now()
    twilio.save(update_fields=["webhooks_configured_at"])
    already = {entry_point.channel.kind for entry_point in number.entry_points() if entry_point.active}
    if number.status != PhoneNumber.Status.CONNECTED:
        already = set()
    return [connect_phone_number(number, kind) for kind in kinds if kind not in already]


def what_stops(number: PhoneNumber) -> list[str]:
    """What releasing the number ends, in the admin's words."""
    shown = format_number(number.e164)
    lines = []
    if number.status == PhoneNumber.Status.CONNECTED:
        for entry_point in number.entry_points().filter(active=True):
            if entry_point.channel.kind == Channel.Kind.SMS:
                lines.append(f"Customers texting {shown} reach nobody, and agents can no longer text from it.")
            else:
                lines.append(f"Calls to {shown} are no longer answered and no voicemail is taken.")
        lines.append("Its Entry Points are paused; their conversations stay in the Inbox, read-only for replies.")
    lines.append(
        f"Twilio takes the number back: it may be given to someone else, and buying {shown} again may not be possible."
    )
    return lines


def release(number: PhoneNumber) -> None:
    """Give the number back to Twilio; its Entry Points are paused (conversations keep pointing at them)."""
    twilio = TwilioNumber.objects.select_related("account").filter(phone_number=number).first()
    if twilio is not None:
        try:
            provider(twilio.account).release(twilio.number_sid)
        except ProviderError as error:
            if error.code != 20404:  # already gone at Twilio
                raise SetupError(f"Twilio did not release {format_number(number.e164)}: {error.message}") from error
    with transaction.atomic():
        for entry_point in number.entry_points():
            set_entry_point_active(entry_point, False)
        number.delete()
