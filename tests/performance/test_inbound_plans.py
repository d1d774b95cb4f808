"""PostgreSQL plans of the inbound path's look-ups, whatever the table statistics say.

A worker on a new install, or on tables that grew since autovacuum last analyzed
them, runs with statistics that call every table tiny. A look-up whose plan then
walks every conversation at the Entry Point costs more with each customer.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import inbound
from conversations.models import Conversation, Customer, CustomerIdentity
from tests.factories import make_entry_point, make_inbox

pytestmark = pytest.mark.django_db


def rows_read_from(table: str, sql: str) -> int:
    """The rows PostgreSQL's plan for `sql` actually read from `table`, over all its scans (a filter's too)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0][0]["Plan"]
    nodes, rows = [plan], 0
    while nodes:
        node = nodes.pop()
        if node.get("Relation Name") == table:
            read = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
            rows += read * node["Actual Loops"]
        nodes.extend(node.get("Plans", []))
    return rows


def test_a_follow_up_reads_only_its_customers_conversation(postgres):
    entry_point = make_entry_point()
    # Enough rows that a plan through the Entry Point index is chosen if the query allows one.
    customers = Customer.objects.bulk_create(Customer(name=f"Customer {n}") for n in range(1000))
    CustomerIdentity.objects.bulk_create(
        CustomerIdentity(customer=customer, entry_point=entry_point, external_id=f"IGSID{n}")
        for n, customer in enumerate(customers)
    )
    inbox = make_inbox()
    Conversation.objects.bulk_create(
        Conversation(customer=customer, entry_point=entry_point, inbox=inbox) for customer in customers
    )

    with CaptureQueriesContext(connection) as captured:
        found = inbound._active_conversation(entry_point, "IGSID150")
    [query] = captured.captured_queries

    assert found.customer_id == customers[150].pk
    assert rows_read_from("conversations_customeridentity", query["sql"]) == 1
    assert rows_read_from("conversations_conversation", query["sql"]) == 1
