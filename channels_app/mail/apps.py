from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "channels_app.mail"
    label = "mail"
    verbose_name = "Email"

    def ready(self):
        from . import webhook  # noqa: F401  (connects the anymail inbound signal)
