import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from channels_app.mail.receiver import make_controller


class Command(BaseCommand):
    help = "Receive mail for our email addresses over SMTP (with STARTTLS when a certificate is configured)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MAIL_RECEIVER_HOST)
        parser.add_argument("--port", type=int, default=settings.MAIL_RECEIVER_PORT)

    def handle(self, *args, host, port, **options):
        controller = make_controller(host, port)
        controller.start()  # returns once the server accepts connections
        tls = "with STARTTLS" if controller.SMTP_kwargs.get("tls_context") else "without TLS"
        self.stdout.write(f"Receiving mail on {host}:{port} {tls}")
        try:
            self.wait_for_stop_signal()
        finally:
            controller.stop()

    def wait_for_stop_signal(self):
        """Block until SIGTERM (the process manager) or SIGINT (Ctrl-C)."""
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        signal.signal(signal.SIGINT, lambda *_: stopped.set())
        stopped.wait()
