from django.urls import path

from . import chat_site

app_name = "sandbox_site"

urlpatterns = [
    path("", chat_site.company_site, name="company"),
]
