from django.db import migrations, models


class Migration(migrations.Migration):
    """The outbound queue's drain lease moves from the Instagram account to its Entry Point."""

    dependencies = [("channels_app", "0006_webhooks_swept_at")]

    operations = [
        migrations.AddField(
            model_name="entrypoint",
            name="drain_lease_owner",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="entrypoint",
            name="drain_lease_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
