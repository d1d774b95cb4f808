import datetime
import smtplib
import socket
import ssl

import pytest

from channels_app.mail import inbound
from channels_app.mail.models import InboundEmail
from channels_app.mail.receiver import make_controller

from .helpers import make_email_address

MESSAGE = (
    b"From: Jane <jane@example.org>\r\nTo: support@acme.com\r\nSubject: Hello\r\n"
    b"Message-ID: <hello-1@example.org>\r\n\r\nWhere is my order?\r\n"
)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def enqueued(monkeypatch):
    ids = []
    monkeypatch.setattr(inbound, "enqueue_processing", ids.append)
    return ids


@pytest.fixture
def receiver(transactional_db, settings):
    settings.MAIL_FORWARDING_DOMAIN = "in.support.example.com"
    controller = make_controller("127.0.0.1", free_port())
    controller.start()  # returns once the server answers
    yield controller
    controller.stop()


def test_mail_for_our_address_is_stored_raw_and_enqueued(receiver, enqueued):
    address = make_email_address("support@acme.com")

    with smtplib.SMTP(receiver.hostname, receiver.port) as client:
        refused = client.sendmail("jane@example.org", ["Support@Acme.com"], MESSAGE)

    assert refused == {}
    stored = InboundEmail.objects.get()
    assert bytes(stored.raw) == MESSAGE
    assert stored.email_address == address
    assert stored.via == InboundEmail.Via.SMTP
    assert stored.envelope_sender == "jane@example.org"
    assert stored.envelope_recipients == ["Support@Acme.com"]
    assert enqueued == [stored.pk]


def test_mail_to_the_forwarding_address_is_accepted(receiver, enqueued):
    address = make_email_address("support@acme.com")

    with smtplib.SMTP(receiver.hostname, receiver.port) as client:
        client.sendmail("jane@example.org", [address.forwarding_address], MESSAGE)

    assert InboundEmail.objects.get().email_address == address


def test_unknown_recipient_is_refused_at_rcpt_and_nothing_is_stored(receiver, enqueued):
    make_email_address("support@acme.com")

    with smtplib.SMTP(receiver.hostname, receiver.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("jane@example.org", ["sales@acme.com"], MESSAGE)

    assert refused.value.recipients["sales@acme.com"][0] == 550
    assert not InboundEmail.objects.exists()


def test_one_known_and_one_unknown_recipient_stores_for_the_known_one(receiver, enqueued):
    make_email_address("support@acme.com")

    with smtplib.SMTP(receiver.hostname, receiver.port) as client:
        refused = client.sendmail("jane@example.org", ["support@acme.com", "nobody@acme.com"], MESSAGE)

    assert list(refused) == ["nobody@acme.com"]
    assert InboundEmail.objects.get().envelope_recipients == ["support@acme.com"]


def test_message_over_the_size_limit_announced_with_size_is_refused_with_the_limit(
    transactional_db, settings, enqueued
):
    settings.MAIL_MAX_BYTES = 1024 * 1024
    make_email_address("support@acme.com")
    controller = make_controller("127.0.0.1", free_port())
    controller.start()
    try:
        with smtplib.SMTP(controller.hostname, controller.port) as client:
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.sendmail("jane@example.org", ["support@acme.com"], MESSAGE + (b"x" * 76 + b"\r\n") * 14_000)
    finally:
        controller.stop()

    assert refused.value.smtp_code == 552
    assert b"up to 1 MB" in refused.value.smtp_error
    assert not InboundEmail.objects.exists()


def test_message_over_the_size_limit_without_size_is_refused_after_data(transactional_db, settings, enqueued):
    settings.MAIL_MAX_BYTES = 1024 * 1024
    make_email_address("support@acme.com")
    controller = make_controller("127.0.0.1", free_port())
    controller.start()
    try:
        with smtplib.SMTP(controller.hostname, controller.port) as client:
            client.ehlo()
            client.mail("jane@example.org")
            client.rcpt("support@acme.com")
            code, text = client.data(MESSAGE + (b"x" * 76 + b"\r\n") * 14_000)
    except smtplib.SMTPDataError as error:
        code, text = error.smtp_code, error.smtp_error
    finally:
        controller.stop()

    assert code == 552
    assert b"Message too big" in text
    assert not InboundEmail.objects.exists()


def test_a_storage_failure_answers_451_so_the_sender_retries(receiver, monkeypatch, enqueued):
    make_email_address("support@acme.com")

    def database_down(*args):
        raise inbound.transaction.DatabaseError("database is down")

    monkeypatch.setattr(inbound, "store_smtp_message", database_down)

    with smtplib.SMTP(receiver.hostname, receiver.port) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("jane@example.org", ["support@acme.com"], MESSAGE)

    assert refused.value.smtp_code == 451


def self_signed_certificate(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_starttls_is_offered_when_a_certificate_is_configured(transactional_db, settings, tmp_path, enqueued):
    settings.MAIL_RECEIVER_TLS_CERT, settings.MAIL_RECEIVER_TLS_KEY = map(str, self_signed_certificate(tmp_path))
    make_email_address("support@acme.com")
    controller = make_controller("127.0.0.1", free_port())
    controller.start()
    client_context = ssl.create_default_context()
    client_context.check_hostname = False
    client_context.verify_mode = ssl.CERT_NONE
    try:
        with smtplib.SMTP(controller.hostname, controller.port) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            client.starttls(context=client_context)
            client.sendmail("jane@example.org", ["support@acme.com"], MESSAGE)
    finally:
        controller.stop()

    assert bytes(InboundEmail.objects.get().raw) == MESSAGE
