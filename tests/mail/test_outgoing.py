import pytest

from channels_app.mail import outgoing, parser
from channels_app.mail.models import SentEmail

from .helpers import make_email_address

pytestmark = pytest.mark.django_db

THREAD = ["<root@mail.gmail.com>", "<20261124.090.def@support.example.com>", "<CAF3xY@mail.gmail.com>"]


@pytest.fixture(autouse=True)
def message_id_domain(settings):
    settings.MAIL_MESSAGE_ID_DOMAIN = "support.example.com"


def build(**overrides):
    address = overrides.pop("address", None) or make_email_address(signature="Acme Support · acme.com/help")
    arguments = dict(
        address=address,
        to="jane.doe@gmail.com",
        subject="Re: RE: [#1042] My order has not arrived",
        text="Hi Jane,\n\nit arrives on Thursday.",
        agent_name="Sam",
        thread_message_ids=THREAD,
        attachments=[("label.pdf", b"%PDF-1.4 label", "application/pdf")],
        conversation_id=1042,
    )
    arguments.update(overrides)
    return outgoing.build_reply(**arguments)


def parse_built(message):
    return parser.parse(message.message().as_bytes())


def test_parsing_what_we_built_gives_back_the_threading_headers():
    parsed = parse_built(build())

    assert parsed.in_reply_to == "<CAF3xY@mail.gmail.com>"
    assert parsed.references == THREAD


def test_parsing_what_we_built_shows_it_is_ours():
    message = build()

    parsed = parse_built(message)

    assert parsed.is_ours
    assert parsed.conversation_hint == "1042"
    assert parsed.message_id == message.extra_headers["Message-ID"]
    assert parsed.message_id.endswith("@support.example.com>")


def test_from_names_the_agent_via_the_address_and_replies_go_to_the_address():
    address = make_email_address("support@acme.com", display_name="Acme Support", from_address="noreply@acme.com")

    parsed = parse_built(build(address=address))

    assert (parsed.from_name, parsed.from_address) == ("Sam via Acme Support", "noreply@acme.com")
    assert parsed.reply_to == "support@acme.com"


def test_subject_gets_one_re():
    assert parse_built(build()).subject == "Re: [#1042] My order has not arrived"
    assert outgoing.reply_subject("AW: Aw: Rechnung") == "Re: Rechnung"
    assert outgoing.reply_subject("") == "Re: (no subject)"


def test_signature_is_appended_to_text_and_html():
    parsed = parse_built(build())

    assert parsed.text.endswith("it arrives on Thursday.\n\n-- \nAcme Support · acme.com/help")
    assert "Acme Support · acme.com/help" in parsed.html


def test_html_alternative_escapes_the_agents_text():
    parsed = parse_built(build(text="Use <b>this</b> & that"))

    assert "&lt;b&gt;this&lt;/b&gt; &amp; that" in parsed.html


def test_attachments_are_attached():
    parsed = parse_built(build())

    assert [(a.filename, a.content_type, a.content) for a in parsed.attachments] == [
        ("label.pdf", "application/pdf", b"%PDF-1.4 label")
    ]


def test_automatic_replies_are_marked_auto_submitted():
    address = make_email_address()

    assert parse_built(build(address=address, automatic=True)).automated
    assert not parse_built(build(address=address)).automated


def test_a_first_message_has_no_threading_headers_and_keeps_its_subject():
    message = build(thread_message_ids=[], subject="Your order")

    assert message.subject == "Your order"
    assert "In-Reply-To" not in message.extra_headers


def test_remembered_message_id_threads_the_reply_back():
    from channels_app.mail import inbound

    address = make_email_address()
    message = build(address=address)
    outgoing.remember_sent(message, address, conversation_id=1042, item_id=5)
    customer_reply = (
        f"From: jane.doe@gmail.com\nMessage-ID: <r@gmail.com>\nIn-Reply-To: {message.extra_headers['Message-ID']}\n\nok"
    )

    parsed = parser.parse(customer_reply.encode())

    assert inbound.find_conversation_id(address, parsed) == 1042
    assert SentEmail.objects.get().item_id == 5
