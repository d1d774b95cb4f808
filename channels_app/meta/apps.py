from django.apps import AppConfig


class MetaConfig(AppConfig):
    """Meta's products on the Messaging Channel: Instagram (Messenger and WhatsApp share the package)."""

    name = "channels_app.meta"
    label = "meta"
    verbose_name = "Messaging (Meta)"

    def ready(self):
        from conversations import senders

        from . import attention  # noqa: F401  (registers what the Settings home shows)
        from .sender import InstagramSender, MessengerSender
        from .whatsapp_sender import WhatsAppSender

        senders.register(InstagramSender())
        senders.register(MessengerSender())
        senders.register(WhatsAppSender())
