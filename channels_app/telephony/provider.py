"""The telephony provider: buying numbers, sending SMS, placing calls, fetching media.

`TelephonyProvider` is what the rest of the adapter uses; `TwilioProvider` does
it with the official `twilio` library. Every failure becomes one `ProviderError`
whose message an admin or agent can read, and whose `transient` flag says
whether trying again later may help.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TIMEOUT_SECONDS = 15
# MMS media is at most 5 MB at Twilio; anything far larger is not what we asked for.
MAX_MEDIA_BYTES = 20 * 1024 * 1024
MAX_MEDIA_REDIRECTS = 3

# Twilio's error codes in plain words (https://www.twilio.com/docs/api/errors).
ERROR_MESSAGES = {
    20003: "Twilio refused the account's credentials (authentication failed).",
    20429: "Too many requests to Twilio; trying again shortly.",
    21211: "The 'To' number is not a valid phone number.",
    21408: "Sending to this region is not enabled on the Twilio account.",
    21610: "The recipient has unsubscribed (replied STOP); they must reply START before we can text them.",
    21614: "The 'To' number is not a mobile number, so it cannot receive text messages.",
    30003: "The recipient's phone is unreachable (switched off or out of coverage).",
    30005: "The destination number is unknown or no longer in service.",
    30006: "The destination is a landline or a carrier that cannot receive text messages.",
    30007: "The carrier filtered the message (marked as spam or not allowed).",
}
TRANSIENT_CODES = {20429}
TWILIO_API = "https://api.twilio.com"


def api_base() -> str:
    """Where Twilio's REST API is: settings.TWILIO_API_BASE (the sandbox's stand-in), else Twilio."""
    return (getattr(settings, "TWILIO_API_BASE", "") or TWILIO_API).rstrip("/")


class BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, with api.twilio.com replaced by `api_base()` when that is set elsewhere."""

    def request(self, method, url, *args, **kwargs):
        base = api_base()
        if base != TWILIO_API and url.startswith(TWILIO_API + "/"):
            url = base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


class ProviderError(Exception):
    """A provider call failed. `code` is the provider's error code when it gave one."""

    def __init__(self, code: int | None, message: str, transient: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient

    def __repr__(self):
        return f"ProviderError(code={self.code!r}, message={self.message!r}, transient={self.transient})"


@dataclass(frozen=True)
class Capabilities:
    sms: bool = False
    voice: bool = False
    mms: bool = False

    @classmethod
    def from_twilio(cls, raw) -> Capabilities:
        # AvailablePhoneNumbers has spelt the keys "SMS"/"MMS", IncomingPhoneNumbers "sms"/"mms".
        flags = {str(key).lower(): bool(value) for key, value in (raw or {}).items()}
        return cls(sms=flags.get("sms", False), voice=flags.get("voice", False), mms=flags.get("mms", False))


@dataclass(frozen=True)
class AvailableNumber:
    e164: str
    friendly_name: str
    locality: str
    region: str
    country: str
    capabilities: Capabilities


@dataclass(frozen=True)
class OwnedNumber:
    sid: str
    e164: str
    capabilities: Capabilities


@dataclass(frozen=True)
class Media:
    content: bytes
    content_type: str


class TelephonyProvider(abc.ABC):
    """What the SMS and Voice adapter needs from a telephony provider."""

    @abc.abstractmethod
    def account_name(self) -> str:
        """The account's name at the provider; one call that proves the credentials work."""

    @abc.abstractmethod
    def search_available(
        self, country: str, area_code: str = "", contains: str = "", sms: bool = True, voice: bool = True
    ) -> list[AvailableNumber]: ...

    @abc.abstractmethod
    def buy(self, e164: str) -> OwnedNumber: ...

    @abc.abstractmethod
    def list_owned(self) -> list[OwnedNumber]: ...

    @abc.abstractmethod
    def configure(self, number_sid: str, sms_url: str, voice_url: str, status_callback: str) -> None: ...

    @abc.abstractmethod
    def release(self, number_sid: str) -> None: ...

    @abc.abstractmethod
    def send_sms(
        self, from_: str, to: str, body: str, media_urls: list[str] | None = None, status_callback: str = ""
    ) -> str:
        """Send a text (or MMS with media_urls); returns the provider's message id."""

    @abc.abstractmethod
    def fetch_media(self, url: str) -> Media:
        """The bytes and content type of a customer's MMS media."""

    @abc.abstractmethod
    def call(self, to: str, from_: str, twiml_url: str) -> str:
        """Place a call that runs the TwiML at twiml_url; returns the call's id."""


def provider_error(error: Exception) -> ProviderError:
    """The ProviderError for whatever the twilio library or requests raised."""
    if isinstance(error, TwilioRestException):
        code = error.code
        status = error.status or 0
        transient = code in TRANSIENT_CODES or status == 429 or status >= 500
        message = ERROR_MESSAGES.get(code)
        if message is None:
            detail = f" ({error.msg})" if error.msg else ""
            if status >= 500:
                message = f"Twilio is having trouble (HTTP {status}){detail}; trying again later."
            else:
                message = f"Twilio refused the request (HTTP {status}, code {code}){detail}."
        return ProviderError(code, message, transient)
    if isinstance(error, requests.Timeout | requests.ConnectionError):
        return ProviderError(None, f"Twilio could not be reached: {type(error).__name__}.", transient=True)
    return ProviderError(None, f"Twilio call failed: {error}", transient=False)


def media_host_allowed(url: str) -> bool:
    """Customer media comes from Twilio's API host or its CDN, over HTTPS only."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if api_base() != TWILIO_API and url.startswith(api_base() + "/"):
        return True  # the stand-in configured in settings (the sandbox)
    return parts.scheme == "https" and (host == "api.twilio.com" or host.endswith(".twiliocdn.com"))


class TwilioProvider(TelephonyProvider):
    """TelephonyProvider over twilio.rest.Client.

    Authenticates with the auth token, or with an API key (sid + secret) for
    the account when one is given (Twilio's recommended way for production).
    """

    def __init__(self, account_sid: str, auth_token: str = "", api_key_sid: str = "", api_key_secret: str = ""):
        if api_key_sid:
            self._credentials = (api_key_sid, api_key_secret)
        else:
            self._credentials = (account_sid, auth_token)
        self.account_sid = account_sid
        self.client = Client(
            *self._credentials, account_sid=account_sid, http_client=BaseUrlHttpClient(timeout=TIMEOUT_SECONDS)
        )

    @classmethod
    def for_account(cls, account) -> TwilioProvider:
        """The provider for a stored TwilioAccount."""
        return cls(
            account.account_sid,
            auth_token=account.auth_token,
            api_key_sid=account.api_key_sid,
            api_key_secret=account.api_key_secret,
        )

    def account_name(self):
        try:
            account = self.client.api.v2010.accounts(self.account_sid).fetch()
        except (TwilioException, requests.RequestException) as error:
            raise provider_error(error) from error
        return account.friendly_name or ""

    def search_available(self, country, area_code="", contains="", sms=True, voice=True):
        filters = {}
        if area_code:
            filters["area_code"] = area_code
        if contains:
            filters["contains"] = contains
        if sms:
            filters["sms_enabled"] = True
        if voice:
            filters["voice_enabled"] = True
        try:
            found = self.client.available_phone_numbers(country.upper()).local.list(limit=30, **filters)
        except (TwilioException, requests.RequestException) as error:
            raise provider_error(error) from error
        return [
            AvailableNumber(
                e164=number.phone_number,
                friendly_name=number.friendly_name or "",
                locality=number.locality or "",
                region=number.region or "",
                country=number.iso_country or country.upper(),
                capabilities=Capabilities.from_twilio(number.capabilities),
            )
            for number in found
        ]

    def buy(self, e164):
        try:
            number = self.client.incoming_phone_numbers.create(phone_number=e164)
        except (TwilioException, requests.RequestException) as error:
            raise provider_error(error) from error
        return _owned(number)

    def list_owned(self):
        try:
            return [_owned(number) for number in self.client.incoming_phone_numbers.list()]
        except (TwilioException, requests.RequestException) as error:
            raise provider_error(error) from error

    def configure(self, number_sid, sms_url, voice_url, status_callback):
        try:
            self.client.incoming_phone_numbers(number_sid).update(
                sms_url=sms_url,
                sms_method="POST",
                voice_url=voice_url,
                voice_method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
            )
        except (TwilioException, requests.RequestException) as error:
            raise provider_error(error) from error

    def release(self, number_sid):
        try:
            self.client.incoming_phone_numbers(number_sid).delete()
        except (TwilioException, requests.RequestException) as error:
            raise provider_error(error) from error

    def send_sms(self, from_, to, body, media_urls=None, status_callback=""):
        options = {}
        if media_urls:
            options["media_url"] = list(media_urls)
        if status_callback:
            options["status_callback"] = status_callback
        try:
            message = self.client.messages.create(from_=from_, to=to, body=body, **options)
        except (TwilioException, requests.RequestException) as error:
            raise provider_error(error) from error
        return message.sid

    def call(self, to, from_, twiml_url):
        try:
            call = self.client.calls.create(to=to, from_=from_, url=twiml_url)
        except (TwilioException, requests.RequestException) as error:
            raise provider_error(error) from error
        return call.sid

    def fetch_media(self, url):
        # Twilio's media URL answers with a redirect to its CDN. Each hop is
        # checked against the allowlist, and the credentials go to
        # api.twilio.com only, never to wherever a redirect points.
        for _hop in range(MAX_MEDIA_REDIRECTS + 1):
            if not media_host_allowed(url):
                raise ProviderError(None, f"Media URL host is not Twilio's: {urlsplit(url).hostname!r}.")
            ours = urlsplit(url).hostname == "api.twilio.com" or url.startswith(api_base() + "/")
            auth = self._credentials if ours else None
            try:
                response = requests.get(url, auth=auth, timeout=TIMEOUT_SECONDS, allow_redirects=False, stream=True)
            except requests.RequestException as error:
                raise provider_error(error) from error
            with response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                if response.status_code >= 400:
                    raise ProviderError(
                        None,
                        f"Twilio answered HTTP {response.status_code} for the media.",
                        transient=response.status_code == 429 or response.status_code >= 500,
                    )
                return Media(_read_limited(response), response.headers.get("Content-Type", "").split(";")[0].strip())
        raise ProviderError(None, "Too many redirects fetching the media.")


def _read_limited(response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_MEDIA_BYTES:
            raise ProviderError(None, f"The media is larger than {MAX_MEDIA_BYTES // (1024 * 1024)} MB.")
        chunks.append(chunk)
    return b"".join(chunks)


def _owned(number) -> OwnedNumber:
    return OwnedNumber(
        sid=number.sid, e164=number.phone_number, capabilities=Capabilities.from_twilio(number.capabilities)
    )
