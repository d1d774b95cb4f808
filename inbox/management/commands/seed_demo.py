from django.core.management.base import BaseCommand

from inbox.demo import demo_loaded, seed_demo


class Command(BaseCommand):
    help = "Load the demo users, inboxes and sandbox Instagram account into an empty database."

    def handle(self, *args, **options):
        if demo_loaded():
            self.stdout.write("The database already has users; demo data not loaded again.")
            return
        seed_demo()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
