"""Inbound mail posted by an email service provider, through django-anymail's webhooks.

Anymail verifies the provider's request and turns it into a message; we keep its
raw bytes as an InboundEmail (via "webhook") like any other received mail. The
webhook URLs are mounted only when ANYMAIL_WEBHOOK_SECRET is set (config/urls.py):
without it anyone could post mail in.
"""

import logging

from anymail.signals import inbound as anymail_inbound
from django.dispatch import receiver

from . import inbound
from .models import InboundEmail

logger = logging.getLogger(__name__)


@receiver(anymail_inbound, dispatch_uid="channels_app.mail.store_anymail_inbound")
def store_anymail_inbound(sender, event, esp_name, **kwargs):
    message = event.message
    envelope_recipient = getattr(message, "envelope_recipient", None) or ""
    candidates = [envelope_recipient] if envelope_recipient else []
    candidates += [address.addr_spec for address in [*message.to, *message.cc]]
    email_address = next(
        (found for found in map(inbound.find_email_address, candidates) if found is not None),
        None,
    )
    if email_address is None:
        # Kept anyway (processing marks it ignored): admins can see misdirected mail.
        logger.warning("Inbound mail from %s is for none of our addresses: %s", esp_name, candidates)
    inbound.store_inbound_email(
        message.as_bytes(),
        InboundEmail.Via.WEBHOOK,
        email_address,
        envelope_sender=getattr(message, "envelope_sender", None) or "",
        envelope_recipients=candidates,
    )
