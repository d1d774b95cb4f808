from django.urls import path

from . import views

app_name = "telephony"

urlpatterns = [
    path("sms/", views.sms_webhook, name="sms"),
    path("status/", views.sms_status_webhook, name="status"),
    path("voice/", views.voice_webhook, name="voice"),
    path("voice/status/", views.voice_status_webhook, name="voice_status"),
    path("recording/", views.recording_webhook, name="recording"),
]
