from pathlib import Path

from channels_app.mail import parser
from conversations.inbound import IncomingMessage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email"


def parse_fixture(name):
    return parser.parse((FIXTURES / name).read_bytes())


def test_gmail_reply_splits_the_quoted_history_wrapped_over_two_lines():
    parsed = parse_fixture("gmail_reply.eml")

    assert parsed.visible_text == "Thanks, the tracking number works now. It says it will arrive Thursday.\n\nJane"
    assert parsed.quoted_text.startswith("On Tue, Nov 24, 2026 at 9:02 AM Acme Support")
    assert "Tracking: 1Z999AA10123456784" in parsed.quoted_text


def test_gmail_reply_keeps_threading_headers():
    parsed = parse_fixture("gmail_reply.eml")

    assert parsed.message_id == "<CAF3xYz1q2w3e4r5t6y7u8i9o0pLkJhGfDsA@mail.gmail.com>"
    assert parsed.in_reply_to == "<20261124.090.def@support.example.com>"
    assert parsed.references == ["<20261123.141.abc@support.example.com>", "<20261124.090.def@support.example.com>"]
    assert (parsed.from_name, parsed.from_address) == ("Jane Doe", "jane.doe@gmail.com")
    assert parsed.subject == "Re: [#1042] My order has not arrived"


def test_gmail_reply_html_is_sanitised_but_keeps_its_structure():
    parsed = parse_fixture("gmail_reply.eml")

    assert parsed.html.startswith('<div dir="ltr">Thanks, the tracking number works now.')
    assert "style=" not in parsed.html
    assert 'href="mailto:support@acme.com"' in parsed.html


def test_outlook_reply_cuts_at_the_rule_above_the_header_block():
    parsed = parse_fixture("outlook_reply.eml")

    assert parsed.visible_text.endswith("Kind regards\nPeter Schmidt")
    assert parsed.quoted_text.startswith("________________________________\nFrom: Acme Support")
    assert parsed.from_name == "Schmidt, Peter"


def test_apple_mail_reply_splits_at_the_quoted_on_wrote_line():
    parsed = parse_fixture("apple_mail_reply.eml")

    assert parsed.visible_text == "That didn’t work either, the link says it expired."
    assert parsed.quoted_text.startswith("> On 23 Nov 2026, at 18:55, Acme Support")
    assert parsed.message_id == "<A1B2C3D4-E5F6-4789-ABCD-0123456789AB@icloud.com>"


def test_attachment_and_inline_cid_image_are_kept_with_their_flags():
    parsed = parse_fixture("attachment_and_inline_image.eml")

    screenshot, invoice = parsed.attachments
    assert (screenshot.filename, screenshot.content_type, screenshot.inline) == ("screenshot.png", "image/png", True)
    assert screenshot.content_id == "screenshot@example.org"
    assert screenshot.content.startswith(b"\x89PNG")
    assert (invoice.filename, invoice.content_type, invoice.inline) == ("invoice.pdf", "application/pdf", False)
    assert invoice.content.startswith(b"%PDF-1.4")


def test_rfc2047_subject_and_name_are_decoded():
    parsed = parse_fixture("attachment_and_inline_image.eml")

    assert parsed.subject == "Screenshot of the error — please help"
    assert parsed.from_name == "Renée Martin"


def test_html_keeps_cid_images_makes_remote_images_click_to_load_and_drops_tracking_pixels():
    html = parse_fixture("attachment_and_inline_image.eml").html

    assert '<img src="cid:screenshot@example.org" alt="screenshot">' in html
    assert '<img data-remote-src="https://cdn.example.org/logo.png" alt="logo">' in html
    assert "tracker.example.net" not in html
    assert ' src="http' not in html


def test_iso_8859_1_body_and_headers_are_decoded():
    parsed = parse_fixture("iso_8859_1.eml")

    assert parsed.text.startswith("Bonjour, le colis est arrivé abîmé.")
    assert parsed.subject == "Problème de livraison"
    assert parsed.from_name == "François Bérard"


def test_windows_1252_labelled_as_latin_1_decodes_euro_signs_and_smart_quotes():
    parsed = parse_fixture("windows_1252.eml")

    assert parsed.text.strip() == "I was charged €120 – but the “sale” price was €99."


def test_shift_jis_body_and_subject_are_decoded():
    parsed = parse_fixture("shift_jis.eml")

    assert parsed.text == "ご注文の商品がまだ届いていません。確認をお願いします。"
    assert parsed.subject == "商品の件について"
    assert parsed.from_name == "山田 太郎"


def test_dsn_bounce_is_automated_and_names_our_original_message():
    parsed = parse_fixture("dsn_bounce.eml")

    assert parsed.automated
    assert parsed.bounce.original_message_id == "<173260876300.4242.1234567890@support.example.com>"
    assert parsed.bounce.recipient == "nobody@example.com"
    assert parsed.bounce.status == "5.1.1"
    assert parsed.bounce.action == "failed"
    assert "User unknown" in parsed.bounce.diagnostic


def test_dsn_delivery_status_is_not_read_as_the_body():
    parsed = parse_fixture("dsn_bounce.eml")

    assert "Reporting-MTA" not in parsed.text
    assert "X-Support-Conversation" not in parsed.text


def test_bounce_from_mailer_daemon_without_auto_submitted_is_still_automated():
    raw = (FIXTURES / "dsn_bounce.eml").read_bytes().replace(b"Auto-Submitted: auto-replied\n", b"")

    parsed = parser.parse(raw)

    assert parsed.automated


def test_out_of_office_is_automated():
    parsed = parse_fixture("out_of_office.eml")

    assert parsed.automated
    assert parsed.automated_reason == "Auto-Submitted: auto-generated"


def test_precedence_bulk_and_x_autoreply_are_automated():
    base = (FIXTURES / "no_message_id.eml").read_bytes()

    assert parser.parse(b"Precedence: bulk\n" + base).automated
    assert parser.parse(b"X-Autoreply: yes\n" + base).automated
    assert not parser.parse(b"Auto-Submitted: no\n" + base).automated


def test_malformed_mime_keeps_what_can_be_read_and_notes_problems():
    parsed = parse_fixture("malformed_mime.eml")

    assert parsed.text.startswith("Hello, my app crashes")
    assert "The second part says: caf" in parsed.text
    assert parsed.date is None
    assert any("CloseBoundaryNotFound" in problem for problem in parsed.problems)
    assert any("x-unknown-charset" in problem for problem in parsed.problems)


def test_attachment_filename_is_never_a_path():
    parsed = parse_fixture("malformed_mime.eml")

    assert [attachment.filename for attachment in parsed.attachments] == ["passwd"]


def test_garbage_never_raises():
    for raw in (
        b"",
        b"\x00\xff\xfe",
        b"Content-Type: multipart/mixed\n\n--\n",
        b"From: <<<@@@>>>\n\n" + b"x" * 100_000,
    ):
        parsed = parser.parse(raw)
        assert parsed.message_id.startswith("<synthesised.")


def test_html_and_js_in_the_body_are_neutralised():
    html = parse_fixture("html_js_attachment.eml").html

    for dangerous in ("<script", "onload", "onclick", "onerror", "javascript:", "<iframe", "<style", "evil.example"):
        assert dangerous not in html
    assert "See" in html


def test_html_and_js_attachments_stay_attachments_and_never_become_the_body():
    parsed = parse_fixture("html_js_attachment.eml")

    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("invoice.html", "text/html"),
        ("run.js", "application/javascript"),
    ]
    assert parsed.text == "See invoice."


def test_missing_message_id_is_synthesised_stably():
    raw = (FIXTURES / "no_message_id.eml").read_bytes()

    first, second = parser.parse(raw), parser.parse(raw)

    assert first.message_id_synthesised
    assert first.message_id == second.message_id
    assert first.message_id.startswith("<synthesised.")


def test_our_own_message_id_domain_or_header_marks_mail_as_ours(settings):
    settings.MAIL_MESSAGE_ID_DOMAIN = "support.example.com"
    base = (FIXTURES / "no_message_id.eml").read_bytes()

    assert parser.parse(b"Message-ID: <1.2.3@support.example.com>\n" + base).is_ours
    assert parser.parse(b"X-Support-Conversation: 1042\n" + base).is_ours
    assert not parse_fixture("gmail_reply.eml").is_ours


def test_very_long_lines_are_kept():
    line = "word " * 40_000
    raw = f"From: a@example.com\nMessage-ID: <long@example.com>\nContent-Type: text/plain\n\n{line}\n".encode()

    parsed = parser.parse(raw)

    assert len(parsed.text) >= len(line.strip())


def test_to_incoming_message_carries_the_spec_fields():
    parsed = parse_fixture("attachment_and_inline_image.eml")

    incoming = parser.to_incoming_message(parsed, conversation_id=7)

    assert isinstance(incoming, IncomingMessage)
    assert incoming.message_id == "<inline-1234@example.org>"
    assert incoming.customer_id == "renee@example.org"
    assert incoming.customer_name == "Renée Martin"
    assert incoming.subject == "Screenshot of the error — please help"
    assert incoming.conversation_id == 7
    assert [(a.kind, a.filename, a.content_id) for a in incoming.attachments] == [
        ("image", "screenshot.png", "screenshot@example.org"),
        ("file", "invoice.pdf", ""),
    ]
    assert incoming.occurred_at.isoformat() == "2026-11-26T09:00:00+00:00"


def test_to_incoming_message_sends_only_the_visible_reply_and_keeps_the_quote_in_metadata():
    incoming = parser.to_incoming_message(parse_fixture("gmail_reply.eml"))

    assert incoming.text.endswith("Jane")
    assert incoming.reply_to_message_id == "<20261124.090.def@support.example.com>"
    assert "Tracking" in incoming.metadata["quoted_text"]
    assert not incoming.automated


def test_to_incoming_message_marks_bounces_automated():
    incoming = parser.to_incoming_message(parse_fixture("dsn_bounce.eml"))

    assert incoming.automated
    assert incoming.metadata["bounce"]["status"] == "5.1.1"


def test_date_with_unknown_zone_is_taken_as_utc():
    # RFC 5322 "-0000": the zone is unknown; Python returns a naive datetime for it.
    raw = b"From: a@example.com\nMessage-ID: <d@example.com>\nDate: Thu, 26 Nov 2026 00:43:19 -0000\n\nhi"

    parsed = parser.parse(raw)

    assert parsed.date.isoformat() == "2026-11-26T00:43:19+00:00"


def test_mangled_fixtures_never_make_the_parser_raise():
    import random

    rng = random.Random(20261126)  # fixed: the same mangling every run
    for path in sorted(FIXTURES.glob("*.eml")):
        raw = path.read_bytes()
        for _ in range(40):
            data = bytearray(raw)
            for _ in range(rng.randint(1, 8)):
                position = rng.randrange(len(data))
                choice = rng.random()
                if choice < 0.4:
                    data[position] = rng.randrange(256)
                elif choice < 0.7:
                    data[position:position] = rng.choice([b"\n", b"=?", b"?=", b"<", b";", b'"', b"--", b"\r\n\r\n"])
                else:
                    del data[position : position + rng.randint(1, 50)]
            parser.parse(bytes(data[: rng.randrange(len(data) // 2, len(data) + 1)]))


def test_html_split_around_an_inline_attachment_is_kept_whole():
    raw = (
        b"From: chris@icloud.com\nMessage-ID: <split@icloud.com>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="alt"\n\n'
        b"--alt\nContent-Type: text/plain\n\nBefore\n\nAfter\n"
        b'--alt\nContent-Type: multipart/mixed; boundary="mix"\n\n'
        b"--mix\nContent-Type: text/html\n\n<div>Before</div>\n"
        b'--mix\nContent-Type: image/png; name="a.png"\nContent-Disposition: inline; filename="a.png"\n'
        b"Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
        b"--mix\nContent-Type: text/html\n\n<div>After</div>\n--mix--\n--alt--\n"
    )

    parsed = parser.parse(raw)

    assert "<div>Before</div>" in parsed.html and "<div>After</div>" in parsed.html
    assert [attachment.filename for attachment in parsed.attachments] == ["a.png"]
    assert parsed.text == "Before\n\nAfter"
