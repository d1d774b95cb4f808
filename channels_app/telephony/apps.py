from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    """The SMS and Voice adapter (Twilio)."""

    name = "channels_app.telephony"
    label = "telephony"
    verbose_name = "SMS and Voice"
