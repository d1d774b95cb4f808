"""The database cache's table, for installations without Redis (config/settings.py, CACHES).

allauth's sign-in rate limits and its "each TOTP code once" record live in the
cache, which must be shared by every process; a migration (rather than a
separate `createcachetable` step) gives fresh installs and the tests the table.
"""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

CACHE_TABLE = "cache_table"


def create_cache_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, CACHE_TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    if CACHE_TABLE in schema_editor.connection.introspection.table_names():
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(CACHE_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0002_inbox_business_hours"),
    ]

    operations = [
        migrations.RunPython(create_cache_table, drop_cache_table),
    ]
