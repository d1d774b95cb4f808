from django.urls import path

from . import agent_views

app_name = "phone"

urlpatterns = [
    path("c/<int:pk>/call-back/", agent_views.call_back, name="call_back"),
]
