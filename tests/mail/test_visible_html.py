"""The HTML agents see first: cut above the quoted history, balanced."""

from channels_app.mail import html_content, parser


def test_the_html_is_cut_at_the_quote_and_its_attribution_line():
    html = (
        '<div dir="ltr">Thanks, it works.<div>Jane</div></div>'
        "<div><div>On Mon, 3 Nov 2025 at 10:12, Acme &lt;support@acme.com&gt; wrote:<br></div>"
        "<blockquote><p>Your order has shipped.</p></blockquote></div>"
    )

    visible = html_content.visible_part(html)

    assert visible == '<div dir="ltr">Thanks, it works.<div>Jane</div></div><div></div>'


def test_html_without_a_blockquote_has_no_visible_part_to_cut():
    assert html_content.visible_part("<p>Hello</p><p>From: Acme<br>Sent: Monday</p>") == ""


def test_a_quote_with_nothing_above_it_gives_no_visible_part():
    assert html_content.visible_part("<blockquote>All quoted</blockquote>") == ""


def test_a_reply_with_quoted_history_shows_the_html_above_it():
    raw = (
        b"From: Jane <jane@example.org>\r\nTo: support@acme.com\r\nSubject: Re: Order\r\n"
        b"Message-ID: <q1@example.org>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
        b"Thanks!\r\n\r\nOn Mon, 3 Nov 2025, Acme wrote:\r\n> Shipped.\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<p><b>Thanks!</b></p><p>On Mon, 3 Nov 2025, Acme wrote:</p>"
        b"<blockquote><p>Shipped.</p></blockquote>\r\n--b--\r\n"
    )

    message = parser.to_incoming_message(parser.parse(raw))

    assert message.html == "<p><b>Thanks!</b></p>"
    assert message.text == "Thanks!"
    assert message.metadata["quoted_text"].startswith("On Mon, 3 Nov 2025, Acme wrote:")


def test_html_that_quotes_without_a_blockquote_gives_way_to_the_text():
    raw = (
        b"From: Jane <jane@example.org>\r\nTo: support@acme.com\r\nSubject: Re: Order\r\n"
        b"Message-ID: <q2@example.org>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
        b"Thanks!\r\n\r\n-----Original Message-----\r\nFrom: Acme\r\nShipped.\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<p>Thanks!</p><p>-----Original Message-----<br>From: Acme</p>"
        b"<p>Shipped.</p>\r\n--b--\r\n"
    )

    message = parser.to_incoming_message(parser.parse(raw))

    assert message.html == ""
    assert message.text == "Thanks!"
