from config.celery import app


def test_beat_runs_the_safety_nets():
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}

    assert {
        "channels_app.tasks.sweep_webhook_events",
        "conversations.tasks.rekick_stale_backlogs",
        "inbox.tasks.assign_waiting_conversations_task",
    } <= tasks


def test_every_scheduled_task_exists():
    app.loader.import_default_modules()

    assert [entry["task"] for entry in app.conf.beat_schedule.values() if entry["task"] not in app.tasks] == []
