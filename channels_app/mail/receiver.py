"""Our SMTP receiver: takes mail for our addresses and keeps it before saying 250.

Run with `manage.py run_smtp_receiver`. A recipient we don't serve is refused at
RCPT (550), so we never accept mail we would have to bounce later (backscatter).
"""

import logging
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from . import inbound

logger = logging.getLogger(__name__)


class MailHandler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        email_address = await sync_to_async(_find_email_address)(address)
        if email_address is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or b""
        try:
            stored = await sync_to_async(inbound.store_smtp_message)(raw, envelope.mail_from or "", envelope.rcpt_tos)
        except Exception:
            # Database trouble: a temporary failure makes the sending server retry later.
            logger.exception("Could not store mail from %s", envelope.mail_from)
            return "451 4.3.0 Temporary failure storing the message, please try again later"
        if not stored:
            return "554 5.1.1 No valid recipients"
        return "250 2.0.0 Message accepted"


def _find_email_address(address):
    close_old_connections()
    return inbound.find_email_address(address)


class MailServer(SMTP):
    async def push(self, status):
        # aiosmtpd's own 552 texts ("Too much mail data") don't tell a sender what
        # the limit is; say it. 552 is only ever about size here.
        if status.startswith("552 "):
            megabytes = settings.MAIL_MAX_BYTES / (1024 * 1024)
            status = f"552 5.3.4 Message too big: this address accepts messages up to {megabytes:g} MB"
        return await super().push(status)


class MailController(Controller):
    def factory(self):
        return MailServer(self.handler, **self.SMTP_kwargs)


def tls_context() -> ssl.SSLContext | None:
    if not (settings.MAIL_RECEIVER_TLS_CERT and settings.MAIL_RECEIVER_TLS_KEY):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.MAIL_RECEIVER_TLS_CERT, settings.MAIL_RECEIVER_TLS_KEY)
    return context


def make_controller(host: str | None = None, port: int | None = None) -> MailController:
    """A receiver ready to `.start()` (which returns once it accepts connections) and `.stop()`."""
    return MailController(
        MailHandler(),
        hostname=host or settings.MAIL_RECEIVER_HOST,
        port=port or settings.MAIL_RECEIVER_PORT,
        data_size_limit=settings.MAIL_MAX_BYTES,
        tls_context=tls_context(),
        # Keep the bytes as sent: the parser decodes, not the receiver.
        decode_data=False,
        enable_SMTPUTF8=True,
    )
