"""Page access tokens never reach a log line, urllib3's request logging included."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.test import override_settings

from channels_app.meta.graph import GraphClient, GraphError
from config.log_redaction import redact

TOKEN = "EAABpagetokensecret123"


class GraphErrorHandler(BaseHTTPRequestHandler):
    """Answers every request as Meta does for an expired token."""

    def do_GET(self):
        body = json.dumps({"error": {"message": "Error validating access token", "code": 190}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def graph_server():
    server = HTTPServer(("127.0.0.1", 0), GraphErrorHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_failing_graph_call_does_not_log_the_token(graph_server, caplog):
    # An operator debugging Meta calls turns urllib3 up to DEBUG: its request lines carry the query string.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")

    with override_settings(META_GRAPH_URL=graph_server), pytest.raises(GraphError):
        GraphClient(TOKEN).get("me", fields="id")

    assert "access_token=" in caplog.text
    assert TOKEN not in caplog.text


def test_an_unreachable_graph_does_not_log_the_token(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")

    with override_settings(META_GRAPH_URL="http://127.0.0.1:9"), pytest.raises(GraphError):
        GraphClient(TOKEN).get("me")

    assert TOKEN not in caplog.text


def test_a_logged_exception_does_not_carry_the_token(caplog):
    logger = logging.getLogger("channels_app.meta.tasks")

    try:
        raise RuntimeError(f"GET https://graph.facebook.com/v23.0/me?fields=id&access_token={TOKEN} failed")
    except RuntimeError:
        logger.exception("Webhook %s could not be processed", 1)

    assert TOKEN not in caplog.text
    assert "access_token=[redacted]" in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        f"/v23.0/me?access_token={TOKEN}&fields=id",
        f'{{"access_token": "{TOKEN}"}}',
        f"{{'page_access_token': '{TOKEN}'}}",
        f"client_secret={TOKEN}",
        f"Authorization: Bearer {TOKEN}",
    ],
)
def test_secrets_are_redacted_in_every_shape(text):
    assert TOKEN not in redact(text)
