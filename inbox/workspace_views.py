"""Agents' everyday tools: Answers, topics, snooze, bulk actions and the list's filters.

Like the other inbox views: find what the agent may see (404 otherwise), call
one service, render.
"""

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conversations import answers as answer_library
from conversations import services as conversation_services
from conversations.models import Answer, Topic
from conversations.services import ActionRefused

from . import conversation_list as listing
from . import presence, reading
from .list_tools import snooze_choices
from .models import Inbox, User
from .views import _after_action

BULK_LIMIT = 100


# --- topics -----------------------------------------------------------------


@login_required
@require_POST
def add_topic(request, pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    topic = (
        Topic.objects.filter(pk=request.POST.get("topic") or 0).first()
        if request.POST.get("topic", "").isdigit()
        else None
    )
    if topic is None:
        return _after_action(request, conversation, error="Choose a topic.")
    conversation_services.add_topic(conversation, request.user, topic)
    return _after_action(request, conversation)


@login_required
@require_POST
def remove_topic(request, pk, topic_pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    conversation_services.remove_topic(conversation, request.user, get_object_or_404(Topic, pk=topic_pk))
    return _after_action(request, conversation)


# --- snooze -----------------------------------------------------------------


@login_required
@require_POST
def snooze(request, pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    choice = request.POST.get("until", "")
    presets = {key: moment for key, _, moment in snooze_choices()}
    if choice in presets:
        until = presets[choice]
    else:
        try:
            until = datetime.fromisoformat(request.POST.get("custom", "") if choice == "custom" else choice)
        except ValueError:
            return _after_action(request, conversation, error="Choose when the conversation comes back.")
        if until.tzinfo is None:
            until = timezone.make_aware(until)
    try:
        conversation_services.snooze_conversation(conversation, request.user, until)
    except ActionRefused as refused:
        return _after_action(request, conversation, error=str(refused))
    return _after_action(request, conversation)


@login_required
@require_POST
def wake(request, pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    conversation_services.wake_conversation(conversation, request.user)
    return _after_action(request, conversation)


# --- bulk -------------------------------------------------------------------


def _back_to_list(request):
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(next_url)
    return redirect("inbox:home")


@login_required
@require_POST
def bulk(request):
    """Assign, close or put a topic on the checked conversations; each goes through its own service call."""
    ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()][:BULK_LIMIT]
    conversations = list(listing.visible_conversations(request.user).filter(pk__in=ids).select_related("inbox"))
    action = request.POST.get("action", "")
    if not conversations:
        messages.error(request, "Check the conversations first.")
        return _back_to_list(request)
    done, refused = 0, []
    topic = None
    assignee = None
    if action == "topic":
        topic = (
            Topic.objects.filter(pk=request.POST.get("topic") or 0).first()
            if request.POST.get("topic", "").isdigit()
            else None
        )
        if topic is None:
            messages.error(request, "Choose a topic.")
            return _back_to_list(request)
    elif action == "assign":
        choice = request.POST.get("assignee", "")
        if choice == "me":
            assignee = request.user
        elif choice.isdigit():
            assignee = User.objects.filter(pk=choice, is_active=True).first()
        elif choice != "none":
            messages.error(request, "Choose who to assign them to.")
            return _back_to_list(request)
    elif action != "close":
        messages.error(request, "Choose an action.")
        return _back_to_list(request)
    for conversation in conversations:
        try:
            if action == "close":
                if conversation.is_closed:
                    continue
                conversation_services.close_conversation(conversation, request.user)
            elif action == "topic":
                conversation_services.add_topic(conversation, request.user, topic)
            else:
                conversation_services.assign_conversation(conversation, request.user, assignee)
        except ActionRefused as error:
            refused.append(f"#{conversation.pk}: {error}")
        else:
            done += 1
    if done:
        messages.success(request, f"Done for {done} conversation{'s' if done != 1 else ''}.")
    if refused:
        messages.error(request, " ".join(refused[:5]))
    return _back_to_list(request)


# --- answers ----------------------------------------------------------------


def _answer_inboxes(user):
    return Inbox.objects.filter(memberships__user=user).order_by("name")


@login_required
@require_http_methods(["GET", "POST"])
def answers(request):
    """The agent's library: every Answer they can use; they add and edit their own."""
    inbox_ids = listing.member_inbox_ids(request.user)
    editing = None
    if request.GET.get("edit", "").isdigit():
        editing = Answer.objects.filter(pk=request.GET["edit"], owner=request.user).first()
    error = ""
    if request.method == "POST":
        editing = None
        if request.POST.get("id", "").isdigit():
            editing = get_object_or_404(Answer, pk=request.POST["id"], owner=request.user)
        if request.POST.get("delete") and editing is not None:
            editing.delete()
            messages.success(request, f"Deleted “{editing.title}”.")
            return redirect("inbox:answers")
        title = request.POST.get("title", "").strip()[:100]
        body = request.POST.get("body", "").strip()
        inbox_id = request.POST.get("inbox", "")
        inbox = None
        if inbox_id:
            inbox = _answer_inboxes(request.user).filter(pk=inbox_id if inbox_id.isdigit() else 0).first()
        if not title or not body:
            error = "Give the answer a title and a text."
        elif inbox_id and inbox is None:
            error = "Choose one of your inboxes, or Shared."
        else:
            answer = editing or Answer(owner=request.user)
            answer.title, answer.body, answer.inbox = title, body, inbox
            answer.save()
            messages.success(request, f"Saved “{answer.title}”.")
            return redirect("inbox:answers")
    q = request.GET.get("q", "").strip()[:100]
    library = answer_library.available(inbox_ids).select_related("inbox", "owner")
    shown = answer_library.search(library, q, limit=200) if q else library.order_by("title")[:200]
    return render(
        request,
        "inbox/answers.html",
        {
            "answers": shown,
            "q": q,
            "editing": editing,
            "error": error,
            "form": request.POST if error else None,
            "answer_inboxes": _answer_inboxes(request.user),
        },
    )


@login_required
@require_GET
def answer_picker(request, pk):
    """The `/` list in the composer: matching Answers with their variables filled for this conversation."""
    conversation = listing.get_visible_conversation(request.user, pk)
    q = request.GET.get("q", "").strip()[:100]
    library = answer_library.available([conversation.inbox_id])
    found = [
        {"answer": answer, "text": answer_library.fill(answer.body, conversation.customer, request.user)}
        for answer in answer_library.search(library, q)
    ]
    return render(request, "inbox/_answer_picker.html", {"found": found, "q": q})


# --- unread, notifications and presence --------------------------------------


@login_required
@require_GET
def notifications(request):
    """New customer messages in the agent's conversations since an item id: the page notifies of them."""
    after = request.GET.get("after", "")
    after_id = int(after) if after.isdigit() and len(after) < 19 else reading.newest_item_id()
    notices = reading.notices_since(request.user, listing.member_inbox_ids(request.user), after_id)
    newest = max([after_id, *(notice.item_id for notice in notices)])
    return render(request, "inbox/_notifier.html", {"notices": notices, "notify_after": newest})


@login_required
@require_POST
def notification_settings(request):
    request.user.notify_desktop = request.POST.get("notify_desktop") == "on"
    request.user.notify_sound = request.POST.get("notify_sound") == "on"
    request.user.save(update_fields=["notify_desktop", "notify_sound"])
    if request.htmx:
        return render(request, "inbox/_notification_settings.html")
    return redirect("inbox:home")


@login_required
@require_POST
def presence_report(request, pk):
    """The page has the conversation open (every few seconds while its socket is down): answers who else has it open.

    Agents whose socket is up hear of a change by push."""
    conversation = listing.get_visible_conversation(request.user, pk)
    if presence.report(request.user, conversation.pk, typing=request.POST.get("typing") == "1"):
        presence.announce(conversation.pk)
    return render(request, "inbox/_presence.html", {"others": presence.others(request.user, conversation.pk)})
