from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpResponsePermanentRedirect
from django.urls import include, path
from django.views.generic import RedirectView

from conversations.public_files import public_file
from inbox.views import media


def favicon(request):
    return HttpResponsePermanentRedirect(staticfiles_storage.url("favicon.ico"))


urlpatterns = [
    # First: Meta's deliveries are the most frequent request, and Django tries the patterns in order.
    path("webhooks/", include("channels_app.meta.urls")),
    path("", RedirectView.as_view(pattern_name="inbox:home", permanent=False)),
    # Browsers ask for /favicon.ico on every page that names none (the Settings pages, the sandbox).
    path("favicon.ico", favicon),
    path("settings/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("inbox/", include("inbox.urls")),
    path("webhooks/twilio/", include("channels_app.telephony.urls")),
    path("phone/", include("channels_app.telephony.agent_urls")),
    path("chat/", include("channels_app.chat.urls")),
    # Stored customer media is served to signed-in staff only.
    path("media/<path:path>", media, name="media"),
    # Files agents send, at signed expiring links for providers that fetch by URL.
    path("files/<str:token>/", public_file, name="public_file"),
]

if settings.ANYMAIL["WEBHOOK_SECRET"]:
    urlpatterns.append(path("webhooks/mail/", include("anymail.urls")))

if settings.META_SANDBOX:
    urlpatterns.append(path("sandbox/meta/", include("sandbox.urls")))
    urlpatterns.append(path("sandbox/twilio/", include("sandbox.twilio_urls")))
    urlpatterns.append(path("sandbox/site/", include("sandbox.site_urls")))
