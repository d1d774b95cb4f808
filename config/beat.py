"""Periodic tasks (celery beat). Each app's safety nets, in one place."""

BEAT_SCHEDULE = {
    "assign-waiting-conversations": {
        "task": "inbox.tasks.assign_waiting_conversations_task",
        "schedule": 60.0,
    },
    "rekick-send-queues": {
        "task": "conversations.tasks.rekick_stale_backlogs",
        "schedule": 30.0,
    },
    "prune-presence": {
        "task": "inbox.tasks.prune_presence_task",
        "schedule": 300.0,
    },
    "stamp-conversation-changes": {
        "task": "conversations.tasks.stamp_changes",
        "schedule": 60.0,
    },
    "wake-snoozed-conversations": {
        "task": "conversations.tasks.wake_snoozed_conversations",
        "schedule": 60.0,
    },
    "sweep-webhook-events": {
        "task": "channels_app.tasks.sweep_webhook_events",
        "schedule": 30.0,
    },
    "sweep-twilio-webhook-events": {
        "task": "channels_app.telephony.tasks.sweep_twilio_events",
        "schedule": 60.0,
    },
    "sweep-inbound-emails": {
        "task": "channels_app.mail.tasks.sweep_inbound_emails",
        "schedule": 30.0,
    },
    # Templates approved, paused or removed in WhatsApp Manager reach the composer's picker.
    "sync-whatsapp-templates": {
        "task": "channels_app.tasks.sync_whatsapp_templates",
        "schedule": 60.0 * 60,
    },
    # Chat transcripts whose task was never enqueued (broker down when the chat closed).
    "sweep-chat-transcripts": {
        "task": "channels_app.chat.tasks.sweep_transcripts",
        "schedule": 300.0,
    },
    "poll-imap-mailboxes": {
        "task": "channels_app.mail.tasks.poll_mailboxes",
        "schedule": 60.0,
    },
}
