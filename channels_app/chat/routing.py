from django.urls import path

from .consumers import ChatVisitorConsumer

websocket_urlpatterns = [
    # Opened from customers' websites: the consumer checks the Origin against the widget's allowed origins.
    path("ws/chat/<str:public_id>/", ChatVisitorConsumer.as_asgi()),
]
