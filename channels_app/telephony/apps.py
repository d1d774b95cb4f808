from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    """The SMS and Voice adapter (Twilio)."""

    name = "channels_app.telephony"
    label = "telephony"
    verbose_name = "SMS and Voice"

    def ready(self):
        from conversations import senders

        from .sender import SmsSender

        senders.register(SmsSender())
