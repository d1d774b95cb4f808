from django.urls import path

from . import views

app_name = "inbox"

urlpatterns = [
    path("", views.home, name="home"),
    path("changes/", views.changes, name="changes"),
    path("availability/", views.availability, name="availability"),
    path("c/<int:pk>/", views.conversation_detail, name="conversation"),
    path("c/<int:pk>/items/", views.conversation_items_view, name="items"),
    path("c/<int:pk>/reply/", views.reply, name="reply"),
    path("c/<int:pk>/template/", views.send_template, name="send_template"),
    path("c/<int:pk>/note/", views.note, name="note"),
    path("c/<int:pk>/assign/", views.assign, name="assign"),
    path("c/<int:pk>/transfer/", views.transfer, name="transfer"),
    path("c/<int:pk>/close/", views.close, name="close"),
    path("c/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("c/<int:pk>/items/<int:item_pk>/like/", views.like, name="like"),
    path("c/<int:pk>/items/<int:item_pk>/retry/", views.retry, name="retry"),
]
