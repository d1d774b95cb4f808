import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("support")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class WebhookDrain(bootsteps.StartStopStep):
    """Every worker runs a drainer that hands stored Meta deliveries over (channels_app/meta/dispatch.py):
    wherever deliveries can be processed, they are also picked up, without the web process
    publishing anything."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.drainer = None

    def start(self, worker):
        from django.conf import settings

        if not settings.META_WEBHOOK_DRAIN:
            return
        from channels_app.meta.dispatch import Drainer

        self.drainer = Drainer()
        self.drainer.start()

    def stop(self, worker):
        if self.drainer is not None:
            self.drainer.stop()
            self.drainer = None


app.steps["worker"].add(WebhookDrain)
