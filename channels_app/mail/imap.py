"""Polling an IMAP mailbox, for addresses whose mail we cannot have forwarded.

Each new message is stored as an InboundEmail keyed by (address, mailbox,
UIDVALIDITY, UID), so a poll that dies between storing and marking \\Seen
imports nothing twice when it runs again.
"""

import contextlib
import imaplib
import logging
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import inbound
from .models import EmailAddress, InboundEmail

logger = logging.getLogger(__name__)

# At most this many messages per poll: a huge backlog drains over several polls.
BATCH_SIZE = 100


class MailboxError(Exception):
    pass


def connect(email_address: EmailAddress):
    timeout = settings.MAIL_IMAP_TIMEOUT
    if email_address.imap_use_tls:
        return imaplib.IMAP4_SSL(email_address.imap_host, email_address.imap_port, timeout=timeout)
    return imaplib.IMAP4(email_address.imap_host, email_address.imap_port, timeout=timeout)


def poll_mailbox(email_address: EmailAddress, connect=connect) -> int:
    """Store the mailbox's new messages. Returns how many were stored.

    Errors (login refused, network down, server hung up) are recorded on the
    address as last_error for the admins and end the poll; the next poll retries.
    """
    stored = []  # UIDs stored, also when the poll fails halfway
    try:
        connection = connect(email_address)
        try:
            _poll(connection, email_address, stored)
        finally:
            _logout(connection)
    except (TimeoutError, imaplib.IMAP4.error, OSError, MailboxError) as error:
        logger.warning("Polling %s failed: %s", email_address, error)
        _record(email_address, error=f"{error.__class__.__name__}: {error}"[:2000])
        return len(stored)
    _record(email_address, error="")
    return len(stored)


def _poll(connection, email_address: EmailAddress, stored: list[int]) -> None:
    connection.login(email_address.imap_username, email_address.imap_password)
    mailbox = email_address.imap_mailbox or "INBOX"
    status, _ = connection.select(_quoted(mailbox))
    if status != "OK":
        raise MailboxError(f"Cannot open mailbox {mailbox!r}")
    uidvalidity = _uidvalidity(connection)
    if uidvalidity != email_address.imap_uidvalidity:
        # The server renumbered the mailbox: old UIDs mean nothing any more.
        email_address.imap_uidvalidity = uidvalidity
        email_address.imap_last_uid = 0
    criteria = f"UID {email_address.imap_last_uid + 1}:*" if email_address.imap_last_uid else "UNSEEN"
    status, data = connection.uid("SEARCH", None, criteria)
    if status != "OK":
        raise MailboxError(f"SEARCH failed: {data!r}")
    uids = sorted(int(uid) for uid in (data[0] or b"").split())
    # "n:*" always matches the last message, even when its UID is below n.
    uids = [uid for uid in uids if uid > email_address.imap_last_uid][:BATCH_SIZE]

    for uid in uids:
        raw = _fetch(connection, uid)
        if raw is not None and _store(email_address, mailbox, uidvalidity, uid, raw):
            stored.append(uid)
        connection.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
        email_address.imap_last_uid = max(email_address.imap_last_uid, uid)
        email_address.save(update_fields=["imap_last_uid", "imap_uidvalidity"])
    email_address.save(update_fields=["imap_last_uid", "imap_uidvalidity"])


def _fetch(connection, uid: int) -> bytes | None:
    # BODY.PEEK leaves \Seen alone: we set it ourselves once the message is stored.
    status, data = connection.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if status != "OK":
        raise MailboxError(f"FETCH {uid} failed: {data!r}")
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None  # expunged meanwhile


def _store(email_address: EmailAddress, mailbox: str, uidvalidity: int | None, uid: int, raw: bytes) -> bool:
    if InboundEmail.objects.filter(
        email_address=email_address, imap_mailbox=mailbox, imap_uidvalidity=uidvalidity, imap_uid=uid
    ).exists():
        return False
    try:
        with transaction.atomic():
            inbound.store_inbound_email(
                raw,
                InboundEmail.Via.IMAP,
                email_address,
                envelope_recipients=[email_address.address],
                imap_mailbox=mailbox,
                imap_uidvalidity=uidvalidity,
                imap_uid=uid,
            )
    except IntegrityError:
        return False  # another poll stored it first
    return True


def _uidvalidity(connection) -> int | None:
    _, data = connection.response("UIDVALIDITY")
    for value in data or []:
        if value and str(value, "ascii", "replace").strip().isdigit():
            return int(value)
    return None


def _quoted(mailbox: str) -> str:
    return mailbox if re.fullmatch(r"[A-Za-z0-9._/-]+", mailbox) else '"' + mailbox.replace('"', '\\"') + '"'


def _logout(connection) -> None:
    with contextlib.suppress(imaplib.IMAP4.error, OSError):
        connection.logout()


def _record(email_address: EmailAddress, error: str) -> None:
    email_address.last_polled_at = timezone.now()
    email_address.last_error = error
    email_address.save(update_fields=["last_polled_at", "last_error"])
