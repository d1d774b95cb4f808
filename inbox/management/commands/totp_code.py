from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from inbox.demo import current_totp_code
from inbox.models import User


class Command(BaseCommand):
    help = "Print a user's current two-factor code (for the demo and local development only)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        if not (settings.DEBUG or settings.META_SANDBOX):
            raise CommandError("Only available on a development or sandbox installation.")
        try:
            user = User.objects.get(email=email.lower())
            self.stdout.write(current_totp_code(user))
        except (User.DoesNotExist, Authenticator.DoesNotExist):
            raise CommandError(f"{email} has no authenticator app set up.") from None
