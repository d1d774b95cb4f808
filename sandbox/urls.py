from django.urls import path, re_path

from . import graph, views

app_name = "sandbox"

urlpatterns = [
    path("dialog/<str:version>/dialog/oauth", views.dialog, name="dialog"),
    re_path(r"^graph/(?P<version>v[0-9.]+)/(?P<path>.*)$", graph.graph, name="graph"),
    path("media/<slug:name>.png", views.media, name="media"),
    path("customer/", views.customer, name="customer"),
    path("customer/act/", views.customer_action, name="customer_action"),
    path("customer/page/", views.page_settings, name="page_settings"),
    path("customer/email/", views.customer_email, name="customer_email"),
    path("customer/email/reply/", views.customer_email_reply, name="customer_email_reply"),
    path("sent.json", views.last_sent_json, name="sent"),
]
