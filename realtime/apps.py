from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    """Push to the browser: the channel layer, the agents' inbox socket, and the core's change hook."""

    name = "realtime"
    verbose_name = "Live updates"

    def ready(self):
        from . import receivers

        receivers.connect()
