"""The ASGI entry point: HTTP goes to Django, WebSockets to the consumers.

Served by uvicorn (`make run`, Procfile). The agents' socket checks the Origin
against ALLOWED_HOSTS and reads the session; the chat widget's socket is opened
from customers' websites and checks the Origin against its own Entry Point's
allowed origins.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Under ASGI a request's database work runs on whichever thread the executor picks, and Django's
# persistent connections belong to a thread: kept open they pile up until PostgreSQL refuses new
# clients (Django ticket #33497). On PostgreSQL the web process lends connections from one pool
# (config/settings.py, DATABASE_POOL); elsewhere it closes them after each request. The workers,
# which run one task at a time per thread, keep theirs (CONN_MAX_AGE).
os.environ["CONN_MAX_AGE"] = "0"
os.environ.setdefault("DATABASE_POOL", "1")
# Django first: the routing below imports models.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from channels_app.chat.routing import websocket_urlpatterns as chat_sockets  # noqa: E402
from inbox.routing import websocket_urlpatterns as inbox_sockets  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": URLRouter([*inbox_sockets, *chat_sockets]),
    }
)
