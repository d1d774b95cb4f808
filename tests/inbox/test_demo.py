from django.core.management import call_command

from channels_app.meta.models import InstagramAccount
from channels_app.models import Channel
from conversations.models import Conversation, Customer
from inbox.models import User


def test_seed_demo_loads_users_inboxes_the_sandbox_account_and_conversations_once(db, capsys):
    call_command("seed_demo")
    call_command("seed_demo")

    assert "not loaded again" in capsys.readouterr().out
    assert sorted(User.objects.values_list("email", flat=True)) == ["ada@demo.test", "admin@demo.test", "ben@demo.test"]
    assert Channel.objects.get(kind="messaging").default_inbox.name == "Instagram"
    assert InstagramAccount.objects.get().username == "acmeshoes"
    instagram = Conversation.objects.filter(entry_point__kind="instagram")
    assert sorted(instagram.values_list("status", flat=True)) == ["closed", "open", "waiting"]
    assert Conversation.objects.get(status="waiting").assignee.email == "ada@demo.test"


def test_demo_logins_prints_every_sign_in(db, capsys):
    call_command("seed_demo")

    call_command("demo_logins")

    out = capsys.readouterr().out
    assert "admin@demo.test" in out and "demo-agent-password" in out and "totp_code" in out


def test_the_demo_has_an_email_address_whose_mail_reaches_ben(db):
    from channels_app.mail.models import EmailAddress
    from inbox.conversation_list import member_inbox_ids

    call_command("seed_demo")

    address = EmailAddress.objects.get()
    assert address.address == "support@acme.test"
    assert address.entry_point.channel.kind == "email"
    ben = User.objects.get(email="ben@demo.test")
    emails = Conversation.objects.filter(entry_point=address.entry_point)
    assert emails.count() == 3
    assert {conversation.inbox_id for conversation in emails} <= set(member_inbox_ids(ben))
    marta = emails.get(customer__identities__external_id="marta.rossi@example.com")
    message = marta.items.get(kind="customer_message")
    assert message.metadata["subject"] == "Invoice for order #2087"
    assert message.metadata["cc"] == ["luca.rossi@example.com"]
    assert message.attachments.get().filename == "order-2087.txt"


def test_the_demo_has_a_customer_on_instagram_and_email_with_one_timeline(db):
    call_command("seed_demo")

    jonas = Customer.objects.get(name="Jonas Berg")

    assert sorted(jonas.identities.values_list("entry_point__kind", flat=True)) == ["email_address", "instagram"]
    assert jonas.conversations.count() == 2
