"""The customer pane of a conversation: who the person is across channels, and what agents do to them.

Every view starts from a conversation the agent may see (404 otherwise); the
other customer of a merge must have a conversation the agent may see too.
"""

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conversations import customers
from conversations.models import Conversation, CustomerIdentity, CustomerMerge
from conversations.services import ActionRefused

from . import conversation_list as listing
from .customer_pane import customer_context, visible_customers
from .timeline import other_conversations
from .views import _after_action

ACTIVITY_PAGE = 30


def _card(request, conversation, *, editing=False, error="", form=None):
    visible = listing.visible_conversations(request.user)
    context = {
        "conversation": conversation,
        "other_conversations": other_conversations(conversation, visible),
        "query": listing.ListQuery.from_params(request.GET, listing.member_inbox_ids(request.user)),
        "editing": editing,
        "card_error": error,
        "form": form,
        **customer_context(request.user, conversation),
    }
    return render(request, "inbox/_customer_card.html", context)


def _pane(request, conversation, *, error=""):
    """After a merge, undo or split the header and timeline may name someone else: the whole pane again."""
    return _after_action(request, conversation, error=error)


@login_required
@require_GET
def card(request, pk):
    return _card(request, listing.get_visible_conversation(request.user, pk))


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    """The customer's details as a form in the pane; saved, the pane shows them again."""
    conversation = listing.get_visible_conversation(request.user, pk)
    customer = conversation.customer
    if request.method == "GET":
        return _card(request, conversation, editing=True)
    form = {
        "name": request.POST.get("name", ""),
        "emails": request.POST.get("emails", ""),
        "phones": request.POST.get("phones", ""),
        "notes": request.POST.get("notes", ""),
        "attributes": {
            key.removeprefix("attr:"): value for key, value in request.POST.items() if key.startswith("attr:")
        },
    }
    try:
        customers.update_details(
            customer,
            request.user,
            name=form["name"],
            emails=customers.parse_list(form["emails"], customers.normalize_email),
            phones=customers.parse_list(form["phones"], customers.normalize_phone),
            notes=form["notes"],
            attributes=form["attributes"],
        )
    except ActionRefused as refused:
        return _card(request, conversation, editing=True, error=str(refused), form=form)
    return _card(request, conversation)


@login_required
@require_GET
def activity(request, pk):
    """The person's timeline across every conversation the agent may see, newest first."""
    conversation = listing.get_visible_conversation(request.user, pk)
    before = request.GET.get("before", "")
    if before and not before.isdigit():
        return HttpResponseBadRequest("before must be an item id")
    conversation_ids = listing.visible_conversations(request.user).filter(customer_id=conversation.customer_id)
    items, has_more = customers.customer_activity(
        conversation.customer_id, conversation_ids.values("pk"), before=int(before) if before else None
    )
    hidden = Conversation.objects.filter(customer_id=conversation.customer_id).exclude(pk__in=conversation_ids).count()
    return render(
        request,
        "inbox/_customer_activity.html",
        {
            "conversation": conversation,
            "items": items,
            "has_more": has_more,
            "next_before": items[-1].pk if items else "",
            "first_page": not before,
            "hidden_conversations": hidden,
        },
    )


@login_required
@require_GET
def merge_candidates(request, pk):
    """Customers the agent may see whose name, username, email or phone matches, to merge with this one."""
    conversation = listing.get_visible_conversation(request.user, pk)
    q = request.GET.get("q", "").strip()[:100]
    found = []
    if len(q) >= 2:
        candidates = visible_customers(request.user).exclude(pk=conversation.customer_id)
        found = list(
            candidates.filter(
                Q(name__icontains=q)
                | Q(username__icontains=q.lstrip("@"))
                | Q(emails__icontains=q)
                | Q(phones__icontains=q)
                | Exists(CustomerIdentity.objects.filter(customer_id=OuterRef("pk"), external_id__iexact=q))
            ).prefetch_related("identities__entry_point")[:8]
        )
    return render(request, "inbox/_merge_candidates.html", {"conversation": conversation, "candidates": found, "q": q})


@login_required
@require_POST
def merge(request, pk):
    """Merge another customer the agent may see into this conversation's customer."""
    conversation = listing.get_visible_conversation(request.user, pk)
    other_id = request.POST.get("other", "")
    other = visible_customers(request.user).filter(pk=other_id if other_id.isdigit() else 0).first()
    if other is None:
        return _pane(request, conversation, error="Choose a customer to merge with.")
    try:
        customers.merge_customers(conversation.customer, other, request.user)
    except ActionRefused as refused:
        return _pane(request, conversation, error=str(refused))
    return _pane(request, conversation)


@login_required
@require_POST
def undo_merge(request, pk, merge_pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    record = get_object_or_404(CustomerMerge, pk=merge_pk, survivor_id=conversation.customer_id)
    try:
        customers.undo_merge(record, request.user)
    except ActionRefused as refused:
        return _pane(request, conversation, error=str(refused))
    return _pane(request, conversation)


@login_required
@require_POST
def split(request, pk, identity_pk):
    conversation = listing.get_visible_conversation(request.user, pk)
    identity = get_object_or_404(CustomerIdentity, pk=identity_pk, customer_id=conversation.customer_id)
    try:
        customers.split_identity(identity, request.user)
    except ActionRefused as refused:
        return _pane(request, conversation, error=str(refused))
    return _pane(request, conversation)
