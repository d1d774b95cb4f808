"""The agents' browser inbox at /inbox/.

Views parse the request, find the conversation among the agent's Inboxes (404
otherwise), call one service and render. Actions are POSTs (CSRF-checked);
with htmx they answer the re-rendered conversation pane, without it they
redirect back to the conversation.
"""

import hashlib
from pathlib import Path

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils._os import safe_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from channels_app.models import Channel
from conversations import answers as answer_library
from conversations import outbound
from conversations import services as conversation_services
from conversations.file_responses import stored_file_response
from conversations.models import Attachment, TimelineItem
from conversations.senders import sender_for
from conversations.services import ActionRefused
from conversations.window import reply_window

from . import conversation_list as listing
from . import reading
from .availability import set_availability
from .customer_pane import customer_context
from .list_tools import all_topics, list_tools, snooze_choices
from .models import AgentAvailability, Inbox, User
from .templatetags.inbox_tags import sla_state
from .timeline import KNOWN_IDS, conversation_items, other_conversations, timeline_delta


def _list_state(request):
    inbox_ids = listing.member_inbox_ids(request.user)
    params = request.GET if request.method == "GET" else request.POST
    return inbox_ids, listing.ListQuery.from_params(params, inbox_ids)


def _availability(user, inboxes):
    """Each Channel the agent works in, with their availability there."""
    channels = {inbox.channel_id: inbox.channel for inbox in inboxes}
    statuses = dict(
        AgentAvailability.objects.filter(user=user, channel_id__in=channels).values_list("channel_id", "status")
    )
    return [
        {"channel": channel, "available": statuses.get(channel_id) == AgentAvailability.Status.AVAILABLE}
        for channel_id, channel in sorted(channels.items())
    ]


def _shown_ids(rows, open_conversation) -> list[int]:
    """What the page's poller reports it shows: the rows in order, then the open conversation."""
    shown = [row.pk for row in rows]
    if open_conversation is not None:
        shown.append(open_conversation.pk)
    return shown


def _list_numbers(request, inbox_ids, query, open_conversation):
    """A page of the list with its numbers: what a live update redraws of it."""
    page = listing.conversation_page(request.user, query, inbox_ids)
    rows = list(page.object_list)
    return rows, {
        "inboxes": list(listing.member_inboxes(request.user)),
        "page_obj": page,
        "query": query,
        "filters": listing.FILTERS,
        "counts": listing.counts(request.user, query.scope(inbox_ids)),
        # Shown on the inbox tabs, which exist only for agents in more than one inbox.
        "unread_by_inbox": reading.unread_counts(request.user, inbox_ids) if len(inbox_ids) > 1 else {},
        "shown_ids": ",".join(str(pk) for pk in _shown_ids(rows, open_conversation)),
        "open_conversation": open_conversation,
    }


def _list_context(request, inbox_ids, query, open_conversation=None):
    _, context = _list_numbers(request, inbox_ids, query, open_conversation)
    return {**context, **list_tools(request.user, inbox_ids)}


def _list_update_context(request, inbox_ids, query, open_conversation, shown, changed_ids):
    """The list's part of a live update: its numbers, and either the rows that changed (`changed_rows`,
    when the page's rows are still these, in this order) or all of them (`changed_rows` False).
    The list's tools (search, filters, bulk bar) stay as the page drew them."""
    rows, context = _list_numbers(request, inbox_ids, query, open_conversation)
    same_rows = _shown_ids(rows, open_conversation) == shown
    context["changed_rows"] = [row for row in rows if row.pk in changed_ids] if same_rows else False
    return context


def _head_context(request, conversation):
    """What the conversation's head (`inbox/_conversation_head.html`) shows, and `head_key`: a digest of
    what in it changes while a page shows it (status, assignee, SLA badge, snooze, topics, whether
    replies can go out, and the minute, which the SLA badge and the snooze menu's times count in).
    A live update whose page has the same key leaves the head as it is."""
    state = outbound.sending_state(conversation.entry_point)
    topics = list(conversation.topics.all())
    sla = sla_state(conversation)
    shown = (
        conversation.status,
        conversation.assignee_id,
        conversation.inbox_id,
        conversation.snoozed_until,
        sla and sla["label"],
        [topic.pk for topic in topics],
        (state.reason, state.waiting, state.blocked),
        timezone.now().strftime("%Y%m%d%H%M"),
    )
    return {
        "conversation": conversation,
        "head_key": hashlib.blake2s(repr(shown).encode(), digest_size=8).hexdigest(),
        "members": User.objects.filter(memberships__inbox_id=conversation.inbox_id, is_active=True),
        "transfer_inboxes": Inbox.objects.filter(channel_id=conversation.inbox.channel_id).exclude(
            pk=conversation.inbox_id
        ),
        "sending_state": state,
        "all_topics": all_topics(request.user),
        "conversation_topics": topics,
        "snooze_choices": snooze_choices(),
    }


def _conversation_context(request, conversation, *, query=None, draft="", note_mode=False, error=""):
    visible = listing.visible_conversations(request.user)
    window = reply_window(conversation)
    return {
        **_head_context(request, conversation),
        "timeline": conversation_items(conversation),
        "other_conversations": other_conversations(conversation, visible),
        "window": window,
        "templates": outbound.templates(conversation) if window.state == window.TEMPLATES_ONLY else [],
        "query": query or listing.ListQuery(),
        "draft": draft,
        "note_mode": note_mode or not window.can_reply,
        "error": error,
        "customer_facts": _customer_facts(conversation),
        **customer_context(request.user, conversation),
        "attachment_limits": _limits_text(conversation),
        "attachment_accept": _limits_accept(conversation),
    }


def _customer_facts(conversation) -> dict:
    """What the channel knows about the customer from their latest message (a chat visitor's page,
    browser, email), as label → text."""
    latest = (
        conversation.items.filter(direction=TimelineItem.Direction.INBOUND, metadata__has_key="context")
        .order_by("-occurred_at", "-id")
        .values_list("metadata", flat=True)
        .first()
    )
    context = (latest or {}).get("context") or {}
    if not isinstance(context, dict):
        return {}
    return {str(label)[:40]: str(value)[:300] for label, value in context.items() if value}


def _limits_text(conversation) -> str:
    """What the composer says about files before sending: the channel's limits, or that it sends none yet."""
    sender = sender_for(conversation.entry_point)
    limits = outbound.attachment_limits(conversation)
    if limits is None:
        return ""
    return limits.describe(sender.label or "This channel")


def _limits_accept(conversation) -> str:
    limits = outbound.attachment_limits(conversation)
    return limits.accept() if limits is not None else ""


def _page(request, conversation=None):
    inbox_ids, query = _list_state(request)
    # Before anything the page shows is read: a change committed meanwhile comes with the next poll.
    cursor = listing.latest_change()
    if conversation is not None:
        reading.mark_read(request.user, conversation.pk)
    context = _list_context(request, inbox_ids, query, conversation)
    context.update(
        availability=_availability(request.user, context["inboxes"]),
        cursor=cursor,
        notify_after=reading.newest_item_id(),
    )
    if conversation is not None:
        context.update(_conversation_context(request, conversation, query=query))
    return render(request, "inbox/inbox.html", context)


# The inbox pages may load remote images, over https only: an email's images
# are held back until the agent clicks "Load remote images" (static/inbox.js),
# and we cannot list every sender's image host. Script, style and connect
# sources stay 'self'; the other pages keep the site's tighter img-src.
REMOTE_IMAGES = {"img-src": ["https:"]}


@login_required
@require_GET
@csp_update(REMOTE_IMAGES)
def home(request):
    return _page(request)


@login_required
@require_GET
@csp_update(REMOTE_IMAGES)
def conversation_detail(request, pk):
    return _page(request, listing.get_visible_conversation(request.user, pk))


@login_required
@require_GET
def conversation_items_view(request, pk):
    """Items of a conversation: an older one of the customer's, or earlier ones of this one."""
    conversation = listing.get_visible_conversation(request.user, pk)
    before = _record_id(request.GET.get("before"))
    if request.GET.get("before") and before is None:
        return HttpResponseBadRequest("before must be an item id")
    return render(
        request,
        "inbox/_items.html",
        {"conversation": conversation, "timeline": conversation_items(conversation, before=before), "readonly": True},
    )


def _after_action(request, conversation, *, error="", draft="", note_mode=False, success=""):
    """Answer an action: the re-rendered pane for htmx, a redirect otherwise."""
    if request.htmx:
        conversation.refresh_from_db()
        reading.mark_read(request.user, conversation.pk)
        if conversation.inbox_id not in listing.member_inbox_ids(request.user):
            return render(request, "inbox/_gone.html", {"conversation": conversation, "message": success})
        context = _conversation_context(request, conversation, draft=draft, note_mode=note_mode, error=error)
        return render(request, "inbox/_conversation.html", context)
    if error:
        messages.error(request, error)
    elif success:
        messages.success(request, success)
    if conversation.inbox_id is None or conversation.inbox_id not in listing.member_inbox_ids(request.user):
        return redirect("inbox:home")
    return redirect("inbox:conversation", pk=conversation.pk)


@login_required
@require_POST
def reply(request, pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    text = request.POST.get("text", "")
    uploads = request.FILES.getlist("files")[:MAX_UPLOADS]
    if uploads:
        return _send_files(request, conversation, text, uploads)
    error = ""
    try:
        if conversation.is_closed:
            # A reply reopens the conversation (as the customer's next message would start one).
            if not text.strip():
                raise outbound.SendRefused("Write a message first.")
            outbound.check_window(conversation)
            with transaction.atomic():
                conversation_services.reopen_conversation(conversation, request.user)
                outbound.send_reply(conversation, request.user, text)
        else:
            outbound.send_reply(conversation, request.user, text)
    except (outbound.SendRefused, ActionRefused) as refused:
        error = str(refused)
    else:
        # Answers inserted from the `/` list count as used once the reply is sent.
        answer_library.record_use(request.POST.getlist("answer"), [conversation.inbox_id])
    return _after_action(request, conversation, error=error, draft=text if error else "")


# More than any channel sends at once: the channel's own limit is checked by the core.
MAX_UPLOADS = 10


def _send_files(request, conversation, text, uploads):
    """The composer's files (dropped, pasted or chosen), sent the channel's way with the text."""
    error = ""
    if conversation.is_closed:
        error = "This conversation is closed. Reopen it to send files."
    else:
        files = [(upload.name, upload.read()) for upload in uploads]
        try:
            outbound.send_files(conversation, request.user, files, text)
        except outbound.SendRefused as refused:
            error = str(refused)
        else:
            answer_library.record_use(request.POST.getlist("answer"), [conversation.inbox_id])
    return _after_action(request, conversation, error=error, draft=text if error else "")


@login_required
@require_POST
def send_template(request, pk):
    """Outside a channel's window (WhatsApp): send one of its approved templates, variables filled in."""
    conversation = listing.get_visible_conversation(request.user, pk)
    template_id = request.POST.get("template", "")
    prefix = f"var:{template_id}:"
    variables = {key.removeprefix(prefix): value for key, value in request.POST.items() if key.startswith(prefix)}
    error = ""
    if conversation.is_closed:
        error = "This conversation is closed. Reopen it to reply."
    else:
        try:
            outbound.send_template(conversation, request.user, template_id, variables)
        except outbound.SendRefused as refused:
            error = str(refused)
    return _after_action(request, conversation, error=error)


@login_required
@require_POST
def like(request, pk, item_pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    item = get_object_or_404(TimelineItem, pk=item_pk, conversation=conversation)
    error = ""
    if TimelineItem.objects.filter(reply_to=item, kind=TimelineItem.Kind.AGENT_LIKE).exists():
        error = "This message is already liked."
    else:
        try:
            outbound.send_like(item, request.user)
        except outbound.SendRefused as refused:
            error = str(refused)
    return _after_action(request, conversation, error=error)


@login_required
@require_POST
def note(request, pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    text = request.POST.get("text", "")
    try:
        conversation_services.add_note(conversation, request.user, text)
    except ActionRefused as refused:
        return _after_action(request, conversation, error=str(refused), draft=text, note_mode=True)
    # Back to Reply: the next Enter answers the customer rather than adding another note.
    return _after_action(request, conversation)


@login_required
@require_POST
def assign(request, pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    choice = request.POST.get("assignee", "")
    if choice == "me":
        assignee = request.user
    elif choice:
        assignee = User.objects.filter(pk=choice if choice.isdigit() else 0).first()
        if assignee is None:
            return _after_action(request, conversation, error="Choose a member of this inbox.")
    else:
        assignee = None
    try:
        conversation_services.assign_conversation(conversation, request.user, assignee)
    except ActionRefused as refused:
        return _after_action(request, conversation, error=str(refused))
    return _after_action(request, conversation)


@login_required
@require_POST
def transfer(request, pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    inbox_id = request.POST.get("inbox", "")
    inbox = Inbox.objects.filter(pk=inbox_id if inbox_id.isdigit() else 0).first()
    if inbox is None:
        return _after_action(request, conversation, error="Choose the inbox to transfer to.")
    try:
        conversation_services.transfer_conversation(conversation, request.user, inbox)
    except ActionRefused as refused:
        return _after_action(request, conversation, error=str(refused))
    return _after_action(request, conversation, success=f"Transferred to the {inbox} inbox.")


@login_required
@require_POST
def close(request, pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    try:
        conversation_services.close_conversation(conversation, request.user)
    except ActionRefused as refused:
        return _after_action(request, conversation, error=str(refused))
    return _after_action(request, conversation)


@login_required
@require_POST
def reopen(request, pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    try:
        conversation_services.reopen_conversation(conversation, request.user)
    except ActionRefused as refused:
        return _after_action(request, conversation, error=str(refused))
    return _after_action(request, conversation)


@login_required
@require_POST
def retry(request, pk, item_pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    item = get_object_or_404(TimelineItem, pk=item_pk, conversation=conversation)
    retry_send = getattr(outbound, "retry", None)
    if retry_send is None:
        return _after_action(request, conversation, error="Retrying a failed message is not available yet.")
    if item.delivery_status != TimelineItem.Delivery.FAILED:
        return _after_action(request, conversation, error="Only a failed message can be retried.")
    try:
        retry_send(item, request.user)
    except outbound.SendRefused as refused:
        return _after_action(request, conversation, error=str(refused))
    return _after_action(request, conversation)


@login_required
@require_POST
def availability(request):
    # distinct(): an agent in two inboxes of one Channel reaches it twice through the join.
    channels = Channel.objects.filter(inboxes__memberships__user=request.user).distinct()
    channel = get_object_or_404(channels, pk=request.POST.get("channel") or 0)
    status = request.POST.get("status")
    if status not in AgentAvailability.Status.values:
        return HttpResponseBadRequest("status must be available or away")
    set_availability(request.user, channel, status)
    inboxes = list(listing.member_inboxes(request.user))
    if request.htmx:
        return render(request, "inbox/_availability.html", {"availability": _availability(request.user, inboxes)})
    next_url = request.POST.get("next", "")
    # Only our own pages: an outside or javascript: next is an open redirect (or a 500).
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect("inbox:home")
    return redirect(next_url)


def _change_number(value) -> int | None:
    """The page's change cursor (0 before any change), or None when it is not one."""
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


def _record_id(value) -> int | None:
    """A primary key from a query parameter, or None when it cannot be one.

    Bounded so PostgreSQL's bigint never overflows (a 500) on ids from a URL.
    """
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit():
        return None
    pk = int(value)
    return pk if 0 < pk < 2**63 else None


@login_required
@require_GET
def changes(request):
    """Live updates: 204 when nothing changed since the cursor, else the parts that did.

    The cursor is a change number (`conversations.models.change_feed`). A page that
    carries anything else (one loaded before the change feed, or a mangled
    value) gets everything redrawn with a fresh cursor, so it is never stuck."""
    cursor = _change_number(request.GET.get("since", ""))
    shown = [pk for pk in map(_record_id, request.GET.get("shown", "").split(",")) if pk is not None][:100]
    inbox_ids, query = _list_state(request)
    if cursor is None:
        found = listing.Changes(cursor=listing.latest_change(), conversation_ids=set(shown))
        redraw_all = True
    else:
        found = listing.changes_since(cursor, query.scope(inbox_ids), shown, visible_inbox_ids=inbox_ids)
        redraw_all = False
        if found is None:
            return HttpResponse(status=204)
    open_id = _record_id(request.GET.get("open", ""))
    open_conversation = None
    if open_id is not None:
        # Also when it did not change: the new poller and list must still know which one is open.
        open_conversation = (
            listing.visible_conversations(request.user)
            .select_related("customer", "entry_point", "inbox", "assignee")
            .filter(pk=open_id)
            .first()
        )
    open_changed = open_id is not None and (redraw_all or open_id in found.conversation_ids)
    if open_changed and open_conversation is not None:
        reading.mark_read(request.user, open_conversation.pk)  # the agent has it in front of them
    if redraw_all:
        context = _list_context(request, inbox_ids, query, open_conversation)
        context["changed_rows"] = None
    else:
        context = _list_update_context(request, inbox_ids, query, open_conversation, shown, found.conversation_ids)
    context.update(cursor=found.cursor, open_id=open_id or "", open_changed=open_changed)
    if open_changed and open_conversation is not None:
        delta = None if redraw_all else _timeline_delta(request, open_conversation)
        if delta is None:
            context.update(_conversation_context(request, open_conversation, query=query))
        else:
            context.update(_head_context(request, open_conversation), delta=delta, timeline=delta)
            context["head_unchanged"] = request.GET.get("head") == context["head_key"]
    return render(request, "inbox/_changes.html", context)


def _timeline_delta(request, conversation):
    """Only the open conversation's items the page lacks, when its timeline is otherwise what it drew.

    The page (`static/inbox-live.js`) sends the timeline revision it drew (`rev`) and its newest
    item ids (`known`); a different revision, or no ids, means a full redraw (None)."""
    rev = _change_number(request.GET.get("rev", ""))
    if rev is None or rev != conversation.timeline_rev:
        return None
    known = [pk for pk in map(_record_id, request.GET.get("known", "").split(",")[:KNOWN_IDS]) if pk is not None]
    return timeline_delta(conversation, known)


# Served with every stored file: if a browser ever renders one as a page it
# runs no script and has no access to our origin.
MEDIA_CONTENT_SECURITY_POLICY = (
    "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'"
)


@login_required
def media(request, path):
    """Stored customer media and profile pictures, for signed-in staff only."""
    try:
        full_path = Path(safe_join(settings.MEDIA_ROOT, path))
    except Exception:
        raise Http404 from None
    if not full_path.is_file():
        raise Http404
    # Media of a conversation is for the members of its inbox (and admins).
    attachment = Attachment.objects.filter(file=path).values("item__conversation__inbox_id").first()
    if (
        attachment
        and not request.user.is_settings_admin
        and attachment["item__conversation__inbox_id"] not in listing.member_inbox_ids(request.user)
    ):
        raise Http404
    # Customers choose these bytes and they are served from our own origin, so
    # the type is proven from the file itself (not its name or stored type)
    # and only script-free images, video and audio are shown inline.
    return stored_file_response(
        request,
        full_path.open("rb"),
        filename=full_path.name,
        content_security_policy=MEDIA_CONTENT_SECURITY_POLICY,
        max_age=86400,
    )
