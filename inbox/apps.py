from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = "Users and Inboxes"

    def ready(self):
        from . import attention  # noqa: F401  (registers what the Settings home shows)
