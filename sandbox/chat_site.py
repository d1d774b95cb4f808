"""A fake company website at /sandbox/site/ that embeds the demo chat widget, and the widget's demo seeder."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from channels_app.chat.models import ChatWidget
from channels_app.models import Channel, EntryPoint
from inbox.availability import set_availability
from inbox.models import AgentAvailability, User

DEMO_WIDGET_NAME = "Acme Shoes chat"


def demo_origins() -> list[str]:
    """The app's own origins: the demo site is served by the app itself."""
    origins = {"http://127.0.0.1:8000", "http://localhost:8000"}
    if settings.SITE_URL:
        origins.add(settings.SITE_URL.rstrip("/"))
    return sorted(origins)


def seed(admin) -> None:
    """The demo chat Entry Point (DEMO_SEEDERS with the sandbox on); Ben, of the Chat inbox, is available."""
    entry_point = EntryPoint.objects.create(
        channel=Channel.objects.get(kind=Channel.Kind.CHAT),
        kind=EntryPoint.Kind.CHAT_WIDGET,
        display_name=DEMO_WIDGET_NAME,
        external_id="demo-chat",
    )
    ChatWidget.objects.create(
        entry_point=entry_point,
        public_id="demo-chat",
        name=DEMO_WIDGET_NAME,
        allowed_origins=demo_origins(),
        colour="#0f766e",
        greeting="Hi! Questions about sizes, shipping or an order? Ask away.",
    )
    ben = User.objects.filter(email="ben@demo.test").first()
    if ben is not None:
        set_availability(ben, entry_point.channel, AgentAvailability.Status.AVAILABLE)


@require_GET
def company_site(request):
    widget = ChatWidget.objects.filter(public_id="demo-chat").first()
    if widget is None:
        raise Http404("Run `make run` (or manage.py seed_demo) to create the demo chat.")
    return render(request, "sandbox/site.html", {"widget": widget})
