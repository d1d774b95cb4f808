from django.core.management.base import BaseCommand

from inbox.demo import DEMO_USERS
from inbox.models import User


class Command(BaseCommand):
    help = "Print the demo sign-ins."

    def handle(self, *args, **options):
        out = self.stdout.write
        out("")
        out("  Support inbox: http://127.0.0.1:8000/")
        out("")
        for email, password, _first, _last, role, inboxes in DEMO_USERS:
            if User.objects.filter(email=email, is_active=True).exists():
                out(f"  {role.label:<6} {email:<18} password: {password:<22} inboxes: {', '.join(inboxes)}")
        out("")
        out("  Settings (/settings/) need two-factor authentication. The demo admin has an")
        out("  authenticator already; get its current code with:")
        out("      .venv/bin/python manage.py totp_code admin@demo.test")
        out("  Customer simulator (Meta sandbox): http://127.0.0.1:8000/sandbox/meta/customer/")
        out("  Chat widget on a demo website (answer as Ben): http://127.0.0.1:8000/sandbox/site/")
        out("")
