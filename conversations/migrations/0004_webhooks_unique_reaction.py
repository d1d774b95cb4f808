from django.db import migrations, models

KEY = ("entry_point_id", "customer_id", "message_external_id", "action", "occurred_at")


def drop_redelivered_reactions(apps, schema_editor):
    """Redeliveries stored before the constraint existed: keep the first of each."""
    CustomerReaction = apps.get_model("conversations", "CustomerReaction")
    seen = set()
    duplicates = []
    for row in CustomerReaction.objects.order_by("pk").values("pk", *KEY).iterator():
        key = tuple(row[name] for name in KEY)
        if key in seen:
            duplicates.append(row["pk"])
        seen.add(key)
    CustomerReaction.objects.filter(pk__in=duplicates).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0005_entry_point_business_hours"),
        ("conversations", "0003_sla_rules_business_hours"),
    ]

    operations = [
        migrations.RunPython(drop_redelivered_reactions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="customerreaction",
            constraint=models.UniqueConstraint(
                fields=("entry_point", "customer", "message_external_id", "action", "occurred_at"),
                name="unique_customer_reaction",
            ),
        ),
    ]
