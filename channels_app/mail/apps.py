from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "channels_app.mail"
    label = "mail"
    verbose_name = "Email"

    def ready(self):
        from conversations import senders

        from . import (
            attention,  # noqa: F401  (registers what the Settings home shows)
            webhook,  # noqa: F401  (connects the anymail inbound signal)
        )
        from .sender import EmailSender

        senders.register(EmailSender())
