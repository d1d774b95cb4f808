from django.core.management import call_command

from channels_app.meta.models import InstagramAccount
from channels_app.models import Channel
from conversations.models import Conversation
from inbox.models import User


def test_seed_demo_loads_users_inboxes_the_sandbox_account_and_conversations_once(db, capsys):
    call_command("seed_demo")
    call_command("seed_demo")

    assert "not loaded again" in capsys.readouterr().out
    assert sorted(User.objects.values_list("email", flat=True)) == ["ada@demo.test", "admin@demo.test", "ben@demo.test"]
    assert Channel.objects.get(kind="messaging").default_inbox.name == "Instagram"
    assert InstagramAccount.objects.get().username == "acmeshoes"
    assert sorted(Conversation.objects.values_list("status", flat=True)) == ["closed", "open", "waiting"]
    assert Conversation.objects.get(status="waiting").assignee.email == "ada@demo.test"


def test_demo_logins_prints_every_sign_in(db, capsys):
    call_command("seed_demo")

    call_command("demo_logins")

    out = capsys.readouterr().out
    assert "admin@demo.test" in out and "demo-agent-password" in out and "totp_code" in out
