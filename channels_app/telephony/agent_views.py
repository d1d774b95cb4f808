"""What agents do with phones from the Inbox: call the customer back through their own phone."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from conversations.models import Conversation
from inbox.models import InboxMembership

from . import calls
from .numbers import format_number


@login_required
@require_POST
def call_back(request, pk):
    """Ring the agent's phone; when they answer, Twilio dials the customer (our number shows as the caller)."""
    conversation = get_object_or_404(Conversation.objects.select_related("entry_point"), pk=pk)
    member = InboxMembership.objects.filter(inbox_id=conversation.inbox_id, user=request.user).exists()
    if not (member or request.user.is_settings_admin):
        raise Http404
    try:
        call = calls.call_back(conversation, request.user)
    except calls.CallBackRefused as refused:
        return HttpResponse(format_html('<span class="call-back-status error" role="alert">{}</span>', str(refused)))
    return HttpResponse(
        format_html(
            '<span class="call-back-status" role="status">Calling your phone {}: pick up to be connected to {}.</span>',
            format_number(request.user.phone_number),
            format_number(call.to_number),
        )
    )
