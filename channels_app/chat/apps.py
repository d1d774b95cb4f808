from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "channels_app.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self):
        from conversations import senders, signals

        from .receivers import transcript_on_close
        from .sender import ChatSender

        senders.register(ChatSender())
        signals.conversation_closed.connect(transcript_on_close, dispatch_uid="chat-transcript-on-close")
