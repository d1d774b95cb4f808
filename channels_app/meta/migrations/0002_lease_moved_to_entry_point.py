from django.db import migrations


class Migration(migrations.Migration):
    """The drain lease now lives on the Entry Point (channels_app 0007)."""

    dependencies = [("meta", "0001_initial"), ("channels_app", "0008_meta_and_queue_moved_out")]

    operations = [
        migrations.RemoveField(model_name="instagramaccount", name="drain_lease_owner"),
        migrations.RemoveField(model_name="instagramaccount", name="drain_lease_until"),
    ]
