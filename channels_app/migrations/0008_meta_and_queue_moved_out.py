from django.db import migrations


class Migration(migrations.Migration):
    """The outbound queue now lives in the core (conversations 0007 copied it), and
    Meta's models in the meta app (same tables, meta 0001)."""

    dependencies = [
        ("channels_app", "0007_entry_point_drain_lease"),
        ("conversations", "0007_outbound_queue_in_the_core"),
        ("meta", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="SendSlot"),
        migrations.DeleteModel(name="OutboundMessage"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="AccountEvent"),
                migrations.DeleteModel(name="InstagramAccount"),
                migrations.DeleteModel(name="WebhookEvent"),
            ],
            database_operations=[],
        ),
    ]
