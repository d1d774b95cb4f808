"""Settings › Email addresses › Send a test: does mail for the forwarding address reach the app?

The test is a real message sent over SMTP to our own receiver, addressed to the
forwarding address. It carries `X-Support-Test: <token>:<signature>`; processing
recognises our signature and records the message as a forwarding test instead
of starting a conversation (a header someone else made up is not ours, so their
mail is processed as usual).
"""

import secrets
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from django.conf import settings
from django.core import signing

from .models import EmailAddress, InboundEmail
from .parser import FORWARDING_TEST_HEADER

# After this long without the message, the page says it did not arrive.
ARRIVAL_DEADLINE = timedelta(seconds=60)
# A received message no worker has taken after this long: say the worker may be down.
PROCESSING_DEADLINE = timedelta(seconds=15)
# Only mail received after the test was sent can be it; a few candidates are enough.
CANDIDATES = 50
SMTP_TIMEOUT = 10
_signer = signing.Signer(salt="channels_app.mail.forwarding_test")


class SendTestFailed(Exception):
    """The test could not be sent; the message says what is wrong, for the admin."""


@dataclass
class ForwardingStatus:
    state: str  # "waiting" | "arrived" | "missing"
    message: str

    @property
    def finished(self) -> bool:
        return self.state != "waiting"


def receiver_address() -> str:
    return f"{settings.MAIL_RECEIVER_HOST}:{settings.MAIL_RECEIVER_PORT}"


def header_value(token: str) -> str:
    return _signer.sign(token)


def token_from_header(value: str) -> str:
    """The token of a test header we made; "" for anything else."""
    try:
        return _signer.unsign((value or "").strip())
    except signing.BadSignature:
        return ""


def build_test_message(email_address: EmailAddress, token: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr(("Forwarding test", f"forwarding-test@{settings.MAIL_MESSAGE_ID_DOMAIN}"))
    message["To"] = email_address.forwarding_address
    message["Subject"] = f"Forwarding test {token}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"forwarding-test.{token}", domain=settings.MAIL_MESSAGE_ID_DOMAIN)
    message["Auto-Submitted"] = "auto-generated"
    message[FORWARDING_TEST_HEADER] = header_value(token)
    message.set_content(
        f"This message tests that mail for {email_address.address} reaches the app.\n"
        "It does not start a conversation.\n"
    )
    return message


def send_test(email_address: EmailAddress) -> str:
    """Send a test message through our SMTP receiver to the address's forwarding address; returns its token.

    Raises SendTestFailed with what is wrong (receiver not running, recipient refused)."""
    token = secrets.token_hex(8)
    message = build_test_message(email_address, token)
    host, port = settings.MAIL_RECEIVER_HOST, settings.MAIL_RECEIVER_PORT
    try:
        with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT) as client:
            client.send_message(message)
    except ConnectionRefusedError as error:
        raise SendTestFailed(
            f"The app's mail receiver is not running on {host}:{port}. "
            "Start it with `manage.py run_smtp_receiver` (make run does)."
        ) from error
    except smtplib.SMTPRecipientsRefused as error:
        reasons = "; ".join(f"{code} {text.decode(errors='replace')}" for code, text in error.recipients.values())
        raise SendTestFailed(
            f"The app's mail receiver refused {email_address.forwarding_address}: {reasons}"
        ) from error
    except smtplib.SMTPResponseException as error:
        reason = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        raise SendTestFailed(f"The app's mail receiver answered {error.smtp_code} {reason}") from error
    except (smtplib.SMTPException, OSError) as error:
        raise SendTestFailed(f"The app's mail receiver on {host}:{port} could not be reached ({error}).") from error
    return token


def find_test_email(email_address: EmailAddress, token: str, sent_at: datetime) -> InboundEmail | None:
    """The stored test message, whether or not a worker has processed it yet."""
    candidates = InboundEmail.objects.filter(
        email_address=email_address, received_at__gte=sent_at - timedelta(seconds=5)
    ).order_by("received_at")[:CANDIDATES]
    needle = f"Forwarding test {token}".encode()
    for inbound_email in candidates:
        if needle in bytes(inbound_email.raw):
            return inbound_email
    return None


def forwarding_status(email_address: EmailAddress, token: str, sent_at: datetime, now: datetime) -> ForwardingStatus:
    """Where the test sent at `sent_at` is now, in words for the admin."""
    found = find_test_email(email_address, token, sent_at)
    if found is not None:
        seconds = max(0, round((now - found.received_at).total_seconds()))
        message = f"Forwarding works, received {seconds} s ago."
        if found.status == InboundEmail.Status.RECEIVED and now - found.received_at > PROCESSING_DEADLINE:
            message += " No worker has processed it yet: is the Celery worker running?"
        return ForwardingStatus("arrived", message)
    if now - sent_at > ARRIVAL_DEADLINE:
        return ForwardingStatus(
            "missing",
            f"Nothing arrived within {ARRIVAL_DEADLINE.seconds} s of sending. Whatever answers on "
            f"{receiver_address()} accepted the message but did not keep it for this address: is it this "
            "app's receiver (manage.py run_smtp_receiver), using the same database?",
        )
    return ForwardingStatus("waiting", f"Sent {max(0, round((now - sent_at).total_seconds()))} s ago, waiting for it…")
