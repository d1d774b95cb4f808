from django.urls import path

from . import webhook

app_name = "meta"

urlpatterns = [
    path("meta/", webhook.meta_webhook, name="webhook"),
]
