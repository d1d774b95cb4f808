"""Small presentation helpers for the inbox templates."""

import html
from datetime import timedelta

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

register = template.Library()

AVATAR_TONES = 6
SLA_SOON = timedelta(minutes=15)


@register.simple_tag
def list_url(query, path="", **overrides):
    """The current list (filter, search, inbox, page) with some values changed."""
    if "filter" in overrides or "q" in overrides or "inbox" in overrides:
        overrides.setdefault("page", 1)
    params = query.params(**overrides)
    return f"{path}?{urlencode(params)}" if params else (path or "?")


@register.simple_tag
def conversation_href(conversation, query):
    url = reverse("inbox:conversation", args=[conversation.pk])
    params = query.params()
    return f"{url}?{urlencode(params)}" if params else url


@register.filter
def initials(customer):
    words = [word for word in (customer.name or customer.username or "?").replace("@", "").split() if word]
    return "".join(word[0] for word in words[:2]).upper() or "?"


@register.filter
def avatar_tone(pk):
    return f"tone-{(pk or 0) % AVATAR_TONES}"


@register.filter
def short_duration(value):
    """A compact age like 45s, 12m, 3h, 2d."""
    if value is None:
        return ""
    seconds = max(0, int((timezone.now() - value).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _compact(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    if minutes < 60:
        return f"{max(minutes, 1)}m"
    if minutes < 60 * 24:
        return f"{minutes // 60}h {minutes % 60:02d}m" if minutes % 60 else f"{minutes // 60}h"
    return f"{minutes // (60 * 24)}d"


@register.simple_tag
def sla_state(conversation):
    """The Conversation SLA badge: overdue, due soon, due, or nothing."""
    due = conversation.sla_due_at
    if due is None or conversation.is_closed:
        return None
    left = due - timezone.now()
    if left <= timedelta(0):
        return {"tone": "overdue", "label": f"Overdue {_compact(left)}", "due": due}
    tone = "soon" if left <= SLA_SOON else "due"
    return {"tone": tone, "label": f"Due in {_compact(left)}", "due": due}


@register.filter
def media_url(file_field):
    return reverse("media", kwargs={"path": file_field.name}) if file_field else ""


@register.filter
def is_image(attachment):
    return attachment.kind in ("image", "story_mention", "story", "share") or attachment.content_type.startswith(
        "image/"
    )


@register.filter
def is_video(attachment):
    return attachment.kind in ("video", "reel", "ig_reel") or attachment.content_type.startswith("video/")


@register.filter
def is_audio(attachment):
    """Audio the app proved from its bytes (voicemails, voice notes): played inline."""
    return attachment.content_type in ("audio/mpeg", "audio/ogg", "audio/mp4", "audio/aac", "audio/x-wav", "audio/wav")


@register.inclusion_tag("inbox/_channel_icon.html")
def channel_icon(entry_point):
    return {"kind": entry_point.kind, "label": entry_point.get_kind_display()}


@register.simple_tag
def email_parts(item):
    """An email item's body for the timeline: its HTML with inline (cid:) images pointed at our stored copies,
    and the attachments to list below it (those the HTML does not show inline).

    `metadata.html` was sanitised by the Email Channel when the mail arrived (nh3:
    no script, no styles, remote images held back as data-remote-src); it is the
    one field of an item rendered as HTML."""
    body = item.metadata.get("html") or ""
    listed = []
    for attachment in item.attachments.all():
        reference = f'src="cid:{html.escape(attachment.content_id, quote=True)}"' if attachment.content_id else ""
        if reference and reference in body:
            if attachment.status == "stored" and attachment.file:
                body = body.replace(reference, f'src="{html.escape(media_url(attachment.file), quote=True)}"')
            continue
        listed.append(attachment)
    return {
        "html": mark_safe(body),  # noqa: S308 (sanitised on arrival; see the docstring)
        "attachments": listed,
        "has_remote_images": "data-remote-src=" in body,
    }


@register.simple_tag
def unread_count(counts, inbox_id):
    """Conversations with unread messages in one Inbox (the list's inbox tabs)."""
    return (counts or {}).get(inbox_id, 0)


@register.filter
def highlight(text, q, width=120):
    """The text with each match of `q` marked (escaped first); a long text is cut around the first match."""
    text = str(text or "")
    q = (q or "").strip().lstrip("@")
    if not q:
        return html.escape(text)
    lowered, needle = text.lower(), q.lower()
    first = lowered.find(needle)
    if len(text) > width:
        start = max(0, first - width // 3) if first >= 0 else 0
        text = ("…" if start else "") + text[start : start + width] + ("…" if start + width < len(text) else "")
        lowered = text.lower()
    parts, position = [], 0
    while (found := lowered.find(needle, position)) >= 0:
        parts.append(html.escape(text[position:found]))
        parts.append(f"<mark>{html.escape(text[found : found + len(q)])}</mark>")
        position = found + len(q)
    parts.append(html.escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every part is escaped above


@register.simple_tag
def search_match(row, q):
    """Why a row matched a search, highlighted: the message text, else the customer's email, phone or id."""
    if getattr(row, "match_text", None):
        return highlight(row.match_text, q)
    needle = q.strip().lstrip("@").lower()
    customer = row.customer
    for value in [*customer.emails, *customer.phones]:
        if needle in value.lower():
            return highlight(value, q)
    if needle and needle not in customer.display_name.lower() and needle not in customer.username.lower():
        return mark_safe(f"Matched an address or id containing <mark>{html.escape(q)}</mark>")  # noqa: S308
    return ""
