"""Facebook Messenger events (messenger_parser) applied through the core's inbound API.

What Messenger shares with Instagram (reactions, deletions, reads, echo
matching, counting other tools' echoes) is Instagram's code in inbound.py; what
is Messenger's own lives here: postbacks shown as what the customer tapped,
shared links (fallback attachments) as text and link, referrals kept on the
customer's identity, echoes told apart by our app id, and PSID profiles.
"""

import logging

from channels_app.models import EntryPoint
from conversations import inbound as core
from conversations.inbound import IncomingAttachment, IncomingMessage
from conversations.models import Conversation, CustomerIdentity

from . import inbound, messenger_graph, parser
from . import messenger_parser as mp
from .graph import GraphError
from .models import AccountEvent, MessengerPage

logger = logging.getLogger(__name__)

UNSUPPORTED_TEXT = "The customer sent something Messenger does not pass on to other apps."
MEDIA_KINDS = {"image", "video", "audio", "file", "sticker"}
LINK_KINDS = {"fallback", "share"}
MAX_REFERRALS = 20


def handle_event(entry_point: EntryPoint, event) -> str:
    """Apply one parsed Messenger event at a Page's Entry Point."""
    handlers = {
        mp.MessengerMessage: _message,
        mp.Postback: _postback,
        mp.ReferralEvent: _referral_event,
        mp.MessengerEcho: _echo,
        mp.DeliveryReceipt: _delivered,
        parser.InboundReaction: inbound._reaction,
        parser.EchoReaction: inbound._echo_reaction,
        parser.MessageDeleted: inbound._deleted,
        parser.ReadReceipt: inbound._read,
        parser.UnsupportedMessage: _unsupported,
    }
    return handlers[type(event)](entry_point, event)


def _content(attachments) -> tuple[str, tuple[IncomingAttachment, ...]]:
    """Media to download; shared links (fallback / share) become text with their address."""
    lines, media = [], []
    for attachment in attachments:
        if attachment.kind in LINK_KINDS:
            lines.append(" ".join(part for part in (attachment.title, attachment.url) if part))
        elif attachment.kind in MEDIA_KINDS and attachment.url:
            kind = "image" if attachment.kind == "sticker" else attachment.kind
            media.append(IncomingAttachment(kind, url=attachment.url))
    return "\n".join(line for line in lines if line), tuple(media)


def _message(entry_point, event: mp.MessengerMessage) -> str:
    links, attachments = _content(event.attachments)
    text = "\n".join(part for part in (event.text, links) if part)
    metadata = {"quick_reply_payload": event.quick_reply_payload} if event.quick_reply_payload else {}
    message = IncomingMessage(
        message_id=event.mid,
        customer_id=event.customer_id,
        occurred_at=event.occurred_at,
        text=text,
        reply_to_message_id=event.reply_to_mid or "",
        metadata=metadata,
        attachments=attachments,
    )
    outcome = inbound._received(core.receive_message(entry_point, message))
    if event.referral is not None:
        _remember_referral(entry_point, event.customer_id, event.referral, event.occurred_at)
    return outcome


def _postback(entry_point, event: mp.Postback) -> str:
    """A tapped button: shown as the customer saying its label, with the payload kept."""
    message_id = event.mid or f"postback:{event.sender_id}:{int(event.occurred_at.timestamp() * 1000)}"
    message = IncomingMessage(
        message_id=message_id,
        customer_id=event.customer_id,
        occurred_at=event.occurred_at,
        text=event.title or event.payload,
        metadata={"postback": {"title": event.title, "payload": event.payload}},
    )
    outcome = inbound._received(core.receive_message(entry_point, message))
    if event.referral is not None:
        _remember_referral(entry_point, event.customer_id, event.referral, event.occurred_at)
    return outcome


def _referral_event(entry_point, event: mp.ReferralEvent) -> str:
    _remember_referral(entry_point, event.customer_id, event.referral, event.occurred_at)
    return "referral recorded"


def _remember_referral(entry_point, customer_id: str, referral: mp.Referral, occurred_at) -> None:
    """Kept on the customer's identity for the customer card: how they came (m.me link, ad)."""
    identity, _ = core.get_or_create_identity(entry_point, customer_id)
    identity = CustomerIdentity.objects.select_for_update().get(pk=identity.pk)
    record = {
        "source": referral.source,
        "type": referral.type,
        "ref": referral.ref,
        "ad_id": referral.ad_id,
        "ad_title": referral.ad_title,
        "referer_uri": referral.referer_uri,
        "at": occurred_at.isoformat(),
    }
    record = {key: value for key, value in record.items() if value}
    referrals = list(identity.attributes.get("referrals", []))
    if record in referrals:
        return
    referrals.append(record)
    identity.attributes = {**identity.attributes, "referrals": referrals[-MAX_REFERRALS:], "referral": record}
    identity.save(update_fields=["attributes"])
    for conversation_id in identity.customer.conversations.values_list("pk", flat=True):
        Conversation.touch(conversation_id)


def _echo(entry_point, event: mp.MessengerEcho) -> str:
    """The Page sent a message: ours (our app id, or a mid we know) or another tool's."""
    if core.mark_ours_delivered(entry_point, event.mid):
        return "echo of ours"
    if inbound._claim_in_flight_send(entry_point, event):
        return "echo of ours"
    if event.sent_by_us:
        # Ours, but not matched (e.g. its answer is still on its way): the send records it.
        return "echo of ours"
    return inbound._outside_echo(entry_point, event)


def _delivered(entry_point, event: mp.DeliveryReceipt) -> str:
    outcomes = [core.record_delivery(entry_point, mid, "delivered") for mid in event.mids]
    return ", ".join(outcomes) or "delivery watermark"


def _unsupported(entry_point, event: parser.UnsupportedMessage) -> str:
    message = IncomingMessage(
        message_id=event.mid,
        customer_id=event.customer_id,
        occurred_at=event.occurred_at,
        text=UNSUPPORTED_TEXT,
        unsupported=True,
    )
    return inbound._received(core.receive_message(entry_point, message))


# --- profiles ----------------------------------------------------------------


def is_messenger_identity(identity_id: int) -> bool:
    return CustomerIdentity.objects.filter(pk=identity_id, entry_point__kind=EntryPoint.Kind.MESSENGER).exists()


def fetch_profile(identity_id: int) -> bool:
    """Fill in a Messenger customer's name and picture (User Profile API by PSID). False: try again later."""
    identity = CustomerIdentity.objects.filter(pk=identity_id).select_related("customer", "entry_point").first()
    if identity is None:
        return True
    page = MessengerPage.objects.filter(entry_point=identity.entry_point).first()
    if page is None:
        return True
    try:
        profile = messenger_graph.fetch_profile(page.page_access_token, identity.external_id)
    except GraphError as error:
        logger.warning("Messenger profile of identity %s not fetched: %s", identity_id, error)
        return not error.worth_retrying
    inbound.save_profile(identity.customer, profile.name, profile.picture_url)
    return True


def count_outside_echoes(page: MessengerPage, since) -> int:
    return AccountEvent.objects.filter(
        messenger_page=page, kind=AccountEvent.Kind.OUTSIDE_ECHO, occurred_at__gte=since
    ).count()
