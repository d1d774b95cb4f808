"""Trigram indexes for the inbox search (PostgreSQL only).

The inbox searches customer names, usernames and message text with `icontains`,
which PostgreSQL runs as UPPER(column) LIKE UPPER('%…%'): only a trigram GIN
index on UPPER(column) serves that. SQLite has no such index and skips this.
"""

import logging

from django.db import migrations

logger = logging.getLogger(__name__)

INDEXES = [
    ("conversations_item_text_trgm", "conversations_timelineitem", "text"),
    ("conversations_customer_name_trgm", "conversations_customer", "name"),
    ("conversations_customer_username_trgm", "conversations_customer", "username"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            try:
                cursor.execute("SAVEPOINT trgm")
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                cursor.execute("RELEASE SAVEPOINT trgm")
            except Exception as error:  # no privilege: search works, only slower
                cursor.execute("ROLLBACK TO SAVEPOINT trgm")
                logger.warning("pg_trgm not available (%s); inbox search runs without trigram indexes", error)
                return
        for name, table, column in INDEXES:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (UPPER({column}::text) gin_trgm_ops)"
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name, _, _ in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("conversations", "0004_webhooks_unique_reaction")]

    operations = [migrations.RunPython(create, drop)]
