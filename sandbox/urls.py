from django.urls import path, re_path

from . import graph, simulator, views, whatsapp_graph

app_name = "sandbox"

urlpatterns = [
    path("dialog/<str:version>/dialog/oauth", views.dialog, name="dialog"),
    re_path(r"^graph/(?P<version>v[0-9.]+)/(?P<path>.*)$", graph.graph, name="graph"),
    path("media/<slug:name>.png", views.media, name="media"),
    path("customer/", views.customer, name="customer"),
    path("customer/act/", views.customer_action, name="customer_action"),
    path("customer/page/", views.page_settings, name="page_settings"),
    path("customer/messenger/", simulator.messenger, name="customer_messenger"),
    path("customer/messenger/act/", simulator.messenger_action, name="messenger_action"),
    path("customer/messenger/page/", simulator.messenger_settings, name="messenger_settings"),
    path("customer/whatsapp/", simulator.whatsapp, name="customer_whatsapp"),
    path("customer/whatsapp/act/", simulator.whatsapp_action, name="whatsapp_action"),
    path("customer/whatsapp/number/", simulator.whatsapp_settings, name="whatsapp_settings"),
    path("whatsapp-media/", whatsapp_graph.media_download, name="whatsapp_media"),
    path("whatsapp-uploads/<str:media_id>/", whatsapp_graph.uploaded_file, name="whatsapp_upload"),
    path("customer/email/", views.customer_email, name="customer_email"),
    path("customer/email/reply/", views.customer_email_reply, name="customer_email_reply"),
    path("sent.json", views.last_sent_json, name="sent"),
]
