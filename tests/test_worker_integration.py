import pytest
from django.db import transaction

from inbox.tasks import assign_waiting_conversations_task
from tests.conftest import wait_for
from tests.factories import make_available, make_conversation, make_inbox, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_task_enqueued_on_commit_runs_in_a_real_worker_and_changes_the_database(celery_worker_process):
    agent = make_user()
    inbox = make_inbox(default=True, members=[agent])
    make_available(agent)
    conversation = make_conversation(inbox=inbox)

    with transaction.atomic():
        transaction.on_commit(assign_waiting_conversations_task.delay)

    def assigned():
        conversation.refresh_from_db()
        return conversation.assignee_id == agent.pk

    wait_for(assigned, timeout=60, message="the worker to assign the conversation")


def test_a_webhook_posted_to_the_app_becomes_a_conversation_through_a_real_worker(celery_worker_process, client):
    from conversations.models import Conversation
    from tests.factories import make_entry_point, make_instagram_account
    from tests.meta_payloads import IG_ACCOUNT_ID, load, post_webhook

    make_inbox("Instagram", default=True)
    make_instagram_account(make_entry_point(external_id=IG_ACCOUNT_ID))

    response = post_webhook(client, load("text_message"))

    assert response.status_code == 200
    conversation = wait_for(
        lambda: Conversation.objects.filter(items__text="Hi, where is my order?").first(),
        timeout=60,
        message="the worker to create the conversation",
    )
    assert conversation.inbox.name == "Instagram"
