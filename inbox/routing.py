from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from .consumers import InboxConsumer

websocket_urlpatterns = [
    # Signed-in agents, from our own pages only (Origin must be one of ALLOWED_HOSTS).
    path("ws/inbox/", AllowedHostsOriginValidator(AuthMiddlewareStack(InboxConsumer.as_asgi()))),
]
