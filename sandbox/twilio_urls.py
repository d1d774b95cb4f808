from django.urls import path, re_path

from . import twilio_api, twilio_views

app_name = "sandbox_twilio"

urlpatterns = [
    path("phone/", twilio_views.phone, name="phone"),
    path("phone/act/", twilio_views.phone_action, name="phone_action"),
    re_path(r"^2010-04-01/Accounts/(?P<account_sid>AC\w+?)(?:/(?P<path>.*)|(?P<json>\.json))$", twilio_api.api_view),
]
