"""The demo's email address, support@acme.test, and customer emails for the Email inbox.

Jonas Berg, who writes on Instagram too, sent one of them: the seeder merges
the two customers, so the demo shows one person with one timeline across
Instagram and email.

The demo mail goes the way real mail does after the receiver: stored raw, then
processed by the Email Channel (parsed, sanitised, threaded, handed to the core).
"""

from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.db import transaction
from django.utils import timezone

from channels_app.mail import inbound
from channels_app.mail.models import EmailAddress, InboundEmail
from channels_app.models import Channel, EntryPoint
from conversations import customers, services
from conversations.models import Customer

from . import demo_data

DEMO_ADDRESS = "support@acme.test"
DEMO_DISPLAY_NAME = "Acme Support"
DEMO_SIGNATURE = "Acme Shoes · Customer care\nhttps://acme.test/help"

DEMO_MAILS = [
    {
        "from": ("Marta Rossi", "marta.rossi@example.com"),
        "cc": ["luca.rossi@example.com"],
        "subject": "Invoice for order #2087",
        "minutes_ago": 42,
        "text": (
            "Hello,\n\nCould you send me an invoice for order #2087 with our company name on it?\n"
            "Rossi Design S.r.l., VAT IT01234567890.\n\nThanks,\nMarta\n\n"
            "On Mon, 3 Nov 2025 at 10:12, Acme Shoes <orders@acme.test> wrote:\n"
            "> Thank you for your order #2087!\n> Your trainers are on their way.\n"
        ),
        "html": (
            "<p>Hello,</p><p>Could you send me an invoice for order <b>#2087</b> with our company name on it?<br>"
            "Rossi Design S.r.l., VAT IT01234567890.</p><p>Thanks,<br>Marta</p>"
            '<p><img src="https://tracker.example.com/logo.png" alt="Rossi Design logo" width="120" height="40"></p>'
            "<div>On Mon, 3 Nov 2025 at 10:12, Acme Shoes &lt;orders@acme.test&gt; wrote:</div>"
            "<blockquote><p>Thank you for your order #2087!<br>Your trainers are on their way.</p></blockquote>"
        ),
        "attachment": ("order-2087.txt", b"Order #2087\n1 x Red trainers, size 38\nEUR 89.00\n", "text/plain"),
    },
    {
        "from": ("Jonas Berg", "jonas.berg@example.com"),
        "cc": [],
        "subject": "Order #1042 – delivery address",
        "minutes_ago": 3 * 24 * 60,
        "text": "Hello,\n\nI just ordered the hiking boots (#1042). Could you ship them to my office instead?\n"
        "Berg & Co, Storgatan 12, Stockholm.\n\nJonas\n",
        "html": "",
        "attachment": None,
    },
    {
        "from": ("Tom Becker", "tom.becker@example.net"),
        "cc": [],
        "subject": "Return label",
        "minutes_ago": 7,
        "text": "Hi, the boots are a size too small. How do I get a return label?\n\nTom\n",
        "html": "",
        "attachment": None,
    },
]


def demo_message(mail: dict, at) -> bytes:
    message = EmailMessage()
    message["From"] = f'"{mail["from"][0]}" <{mail["from"][1]}>'
    message["To"] = f"{DEMO_DISPLAY_NAME} <{DEMO_ADDRESS}>"
    if mail["cc"]:
        message["Cc"] = ", ".join(mail["cc"])
    message["Subject"] = mail["subject"]
    message["Date"] = format_datetime(at)
    message["Message-ID"] = make_msgid(domain=mail["from"][1].split("@")[1])
    message.set_content(mail["text"])
    if mail["html"]:
        message.add_alternative(mail["html"], subtype="html")
    if mail["attachment"]:
        filename, content, content_type = mail["attachment"]
        message.add_attachment(content, *content_type.split("/"), filename=filename)
    return message.as_bytes()


@transaction.atomic
def seed(admin) -> None:
    """support@acme.test as an Email Entry Point, and a few customer emails (DEMO_SEEDERS with the sandbox on)."""
    entry_point = EntryPoint.objects.create(
        channel=Channel.objects.get(kind=Channel.Kind.EMAIL),
        kind=EntryPoint.Kind.EMAIL_ADDRESS,
        display_name=DEMO_ADDRESS,
        external_id=DEMO_ADDRESS,
    )
    address = EmailAddress.objects.create(
        entry_point=entry_point,
        address=DEMO_ADDRESS,
        display_name=DEMO_DISPLAY_NAME,
        signature=DEMO_SIGNATURE,
        created_by=admin,
    )
    now = timezone.now()
    for mail in DEMO_MAILS:
        at = now - timedelta(minutes=mail["minutes_ago"])
        # Stored and processed here, not enqueued: the demo is whole before any worker starts.
        stored = InboundEmail.objects.create(
            raw=demo_message(mail, at),
            via=InboundEmail.Via.SMTP,
            email_address=address,
            envelope_sender=mail["from"][1],
            envelope_recipients=[DEMO_ADDRESS],
            received_at=at,
        )
        inbound.process_inbound_email(stored.pk)
    link_jonas(admin)


def link_jonas(admin) -> None:
    """Jonas by email and Jonas on Instagram are one person: merged, as an agent would after the suggestion."""
    instagram = Customer.objects.filter(identities__external_id=demo_data.CUSTOMERS[1]["igsid"]).first()
    by_mail = Customer.objects.filter(identities__external_id="jonas.berg@example.com").first()
    if instagram is None or by_mail is None:
        return  # the Instagram demo is not loaded
    customers.merge_customers(instagram, by_mail, admin)
    # An older case, answered then: closed like a finished one.
    for conversation in instagram.conversations.filter(entry_point__kind=EntryPoint.Kind.EMAIL_ADDRESS):
        if not conversation.is_closed:
            services.close_conversation(conversation, admin)
