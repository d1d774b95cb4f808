from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from inbox.views import media

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="inbox:home", permanent=False)),
    path("settings/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("inbox/", include("inbox.urls")),
    path("webhooks/twilio/", include("channels_app.telephony.urls")),
    path("webhooks/", include("channels_app.meta.urls")),
    path("chat/", include("channels_app.chat.urls")),
    # Stored customer media is served to signed-in staff only.
    path("media/<path:path>", media, name="media"),
]

if settings.ANYMAIL["WEBHOOK_SECRET"]:
    urlpatterns.append(path("webhooks/mail/", include("anymail.urls")))

if settings.META_SANDBOX:
    urlpatterns.append(path("sandbox/meta/", include("sandbox.urls")))
    urlpatterns.append(path("sandbox/site/", include("sandbox.site_urls")))
