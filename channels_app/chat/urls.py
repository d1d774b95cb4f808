from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("widget.js", views.widget_js, name="widget"),
    path("widget.<str:version>.js", views.widget_js_versioned, name="widget_versioned"),
    path("<str:public_id>/upload/", views.upload, name="upload"),
    path("<str:public_id>/files/<int:attachment_id>/", views.visitor_file, name="file"),
]
