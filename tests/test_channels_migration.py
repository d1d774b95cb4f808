from channels_app.models import Channel


def test_the_five_channels_exist_from_the_data_migration(db):
    assert sorted(Channel.objects.values_list("kind", flat=True)) == ["chat", "email", "messaging", "sms", "voice"]


def test_channels_have_no_default_inbox_until_an_admin_chooses_one(db):
    assert not Channel.objects.filter(default_inbox__isnull=False).exists()
