from django.urls import path

from . import views

app_name = "channels_app"

urlpatterns = [
    path("meta/", views.meta_webhook, name="meta_webhook"),
]
