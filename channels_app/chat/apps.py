from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "channels_app.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self):
        from conversations import senders

        from .sender import ChatSender

        senders.register(ChatSender())
