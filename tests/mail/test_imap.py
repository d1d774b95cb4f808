import imaplib

import pytest

from channels_app.mail import imap, inbound
from channels_app.mail.models import InboundEmail

from .helpers import make_email_address

pytestmark = pytest.mark.django_db


def message(n):
    return f"From: c{n}@example.org\r\nMessage-ID: <m{n}@example.org>\r\nSubject: {n}\r\n\r\nbody {n}\r\n".encode()


class StubMailbox:
    """Answers like imaplib.IMAP4 for the calls the poller makes."""

    def __init__(self, messages, uidvalidity=1000, unseen=None, fail_on_fetch=None, refuse_login=False):
        self.messages = dict(messages)
        self.uidvalidity = uidvalidity
        self.unseen = set(self.messages) if unseen is None else set(unseen)
        self.fail_on_fetch = fail_on_fetch
        self.refuse_login = refuse_login
        self.calls = []
        self.logged_out = False

    def login(self, username, password):
        self.calls.append(("login", username, password))
        if self.refuse_login:
            raise imaplib.IMAP4.error("[AUTHENTICATIONFAILED] Invalid credentials")
        return "OK", [b"Logged in"]

    def select(self, mailbox):
        self.calls.append(("select", mailbox))
        return "OK", [str(len(self.messages)).encode()]

    def response(self, code):
        return code, [str(self.uidvalidity).encode()]

    def uid(self, command, *args):
        self.calls.append(("uid", command, *args))
        if command == "SEARCH":
            criteria = args[1]
            if criteria == "UNSEEN":
                found = sorted(self.unseen)
            else:
                first = int(criteria.split()[1].split(":")[0])
                # Like a real server, "n:*" also matches the highest UID.
                found = sorted(uid for uid in self.messages if uid >= first) or [max(self.messages)]
            return "OK", [" ".join(map(str, found)).encode()]
        if command == "FETCH":
            uid = int(args[0])
            if uid == self.fail_on_fetch:
                raise imaplib.IMAP4.abort("socket error: EOF")
            return "OK", [(f"{uid} (UID {uid} BODY[] {{10}}".encode(), self.messages[uid]), b")"]
        if command == "STORE":
            self.unseen.discard(int(args[0]))
            return "OK", [b""]
        raise AssertionError(command)

    def logout(self):
        self.logged_out = True


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    ids = []
    monkeypatch.setattr(inbound, "enqueue_processing", ids.append)
    return ids


@pytest.fixture
def address():
    return make_email_address(imap_host="imap.acme.com", imap_username="support@acme.com", imap_password="s3cret")


def test_first_poll_stores_unseen_messages_and_marks_them_seen(address):
    mailbox = StubMailbox({1: message(1), 2: message(2), 3: message(3)}, unseen={2, 3})

    stored = imap.poll_mailbox(address, connect=lambda _: mailbox)

    assert stored == 2
    assert [bytes(row.raw) for row in InboundEmail.objects.order_by("imap_uid")] == [message(2), message(3)]
    assert mailbox.unseen == set()
    assert ("login", "support@acme.com", "s3cret") in mailbox.calls
    assert mailbox.logged_out
    address.refresh_from_db()
    assert (address.imap_last_uid, address.imap_uidvalidity, address.last_error) == (3, 1000, "")
    assert address.last_polled_at is not None


def test_stored_rows_carry_mailbox_and_uid(address):
    imap.poll_mailbox(address, connect=lambda _: StubMailbox({7: message(7)}))

    row = InboundEmail.objects.get()
    assert (row.via, row.imap_mailbox, row.imap_uidvalidity, row.imap_uid) == ("imap", "INBOX", 1000, 7)
    assert row.email_address == address


def test_next_poll_fetches_only_newer_uids(address):
    mailbox = StubMailbox({1: message(1)})
    imap.poll_mailbox(address, connect=lambda _: mailbox)
    mailbox.messages[2] = message(2)

    stored = imap.poll_mailbox(address, connect=lambda _: mailbox)

    assert stored == 1
    assert InboundEmail.objects.count() == 2
    assert ("uid", "SEARCH", None, "UID 2:*") in mailbox.calls


def test_poll_with_nothing_new_imports_nothing(address):
    mailbox = StubMailbox({1: message(1)})
    imap.poll_mailbox(address, connect=lambda _: mailbox)

    assert imap.poll_mailbox(address, connect=lambda _: mailbox) == 0
    assert InboundEmail.objects.count() == 1


def test_a_message_stored_but_not_recorded_as_seen_is_not_imported_twice(address):
    mailbox = StubMailbox({1: message(1)})
    imap.poll_mailbox(address, connect=lambda _: mailbox)
    address.imap_last_uid = 0  # as if the poll died before saving its progress
    address.save()

    assert imap.poll_mailbox(address, connect=lambda _: StubMailbox({1: message(1)})) == 0
    assert InboundEmail.objects.count() == 1


def test_a_new_uidvalidity_starts_over(address):
    imap.poll_mailbox(address, connect=lambda _: StubMailbox({5: message(5)}))

    stored = imap.poll_mailbox(address, connect=lambda _: StubMailbox({1: message(10)}, uidvalidity=2000))

    assert stored == 1
    address.refresh_from_db()
    assert (address.imap_uidvalidity, address.imap_last_uid) == (2000, 1)


def test_a_disconnect_keeps_what_was_stored_and_records_the_error(address):
    mailbox = StubMailbox({1: message(1), 2: message(2)}, fail_on_fetch=2)

    stored = imap.poll_mailbox(address, connect=lambda _: mailbox)

    assert stored == 1
    assert InboundEmail.objects.get().imap_uid == 1
    address.refresh_from_db()
    assert address.imap_last_uid == 1
    assert "socket error: EOF" in address.last_error


def test_a_refused_login_is_recorded_for_the_admins(address):
    imap.poll_mailbox(address, connect=lambda _: StubMailbox({}, refuse_login=True))

    address.refresh_from_db()
    assert "AUTHENTICATIONFAILED" in address.last_error
    assert not InboundEmail.objects.exists()


def test_an_unreachable_server_is_recorded(address):
    def unreachable(_):
        raise ConnectionRefusedError("Connection refused")

    imap.poll_mailbox(address, connect=unreachable)

    address.refresh_from_db()
    assert "Connection refused" in address.last_error


def test_a_successful_poll_clears_the_last_error(address):
    address.last_error = "old trouble"
    address.save()

    imap.poll_mailbox(address, connect=lambda _: StubMailbox({1: message(1)}))

    address.refresh_from_db()
    assert address.last_error == ""
