from django.db import migrations

CHANNELS = ["chat", "email", "voice", "sms", "messaging"]


def create_channels(apps, schema_editor):
    Channel = apps.get_model("channels_app", "Channel")
    for kind in CHANNELS:
        Channel.objects.get_or_create(kind=kind)


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0002_initial")]

    operations = [migrations.RunPython(create_channels, migrations.RunPython.noop)]
