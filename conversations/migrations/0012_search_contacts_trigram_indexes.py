"""Trigram indexes for searching customers by email, phone and identity id (PostgreSQL only).

The inbox search runs `icontains` on the customer's emails and phones (JSON
lists, compared as text) and on their identities' ids (email addresses,
phone numbers): UPPER(column::text) LIKE UPPER('%…%'), served only by a
trigram GIN index on that expression. SQLite skips this.
"""

from django.db import migrations

INDEXES = [
    ("conversations_customer_emails_trgm", "conversations_customer", "emails"),
    ("conversations_customer_phones_trgm", "conversations_customer", "phones"),
    ("conversations_identity_external_id_trgm", "conversations_customeridentity", "external_id"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            return  # 0005 could not create it: search works, only slower
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
    dependencies = [("conversations", "0011_answers_topics_snooze")]

    operations = [migrations.RunPython(create, drop)]
