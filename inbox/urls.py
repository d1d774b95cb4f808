from django.urls import path

from . import customer_views, views, workspace_views

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
    path("answers/", workspace_views.answers, name="answers"),
    path("bulk/", workspace_views.bulk, name="bulk"),
    path("notifications/", workspace_views.notifications, name="notifications"),
    path("notifications/settings/", workspace_views.notification_settings, name="notification_settings"),
    path("c/<int:pk>/presence/", workspace_views.presence_report, name="presence"),
    path("c/<int:pk>/answers/", workspace_views.answer_picker, name="answer_picker"),
    path("c/<int:pk>/topics/", workspace_views.add_topic, name="add_topic"),
    path("c/<int:pk>/topics/<int:topic_pk>/remove/", workspace_views.remove_topic, name="remove_topic"),
    path("c/<int:pk>/snooze/", workspace_views.snooze, name="snooze"),
    path("c/<int:pk>/wake/", workspace_views.wake, name="wake"),
    path("c/<int:pk>/customer/", customer_views.card, name="customer_card"),
    path("c/<int:pk>/customer/edit/", customer_views.edit, name="customer_edit"),
    path("c/<int:pk>/customer/activity/", customer_views.activity, name="customer_activity"),
    path("c/<int:pk>/customer/merge/candidates/", customer_views.merge_candidates, name="merge_candidates"),
    path("c/<int:pk>/customer/merge/", customer_views.merge, name="customer_merge"),
    path("c/<int:pk>/customer/merges/<int:merge_pk>/undo/", customer_views.undo_merge, name="undo_merge"),
    path("c/<int:pk>/customer/identities/<int:identity_pk>/split/", customer_views.split, name="split_identity"),
]
