"""Titles in the product's words instead of Django admin's stock ones."""

from django import template
from django.utils.text import capfirst

register = template.Library()


@register.simple_tag(takes_context=True)
def page_title(context):
    """The page's title: "Inboxes" rather than "Select inbox to change", "Support" rather than "Change inbox".

    Titles a view set on purpose (anything but Django's stock patterns) are kept.
    """
    title = str(context.get("title") or "")
    opts = context.get("opts")
    if opts is None:
        return title
    name = str(opts.verbose_name)
    changelist = context.get("cl")
    if changelist is not None and title == str(changelist.title):
        current = context.get("settings_current")
        return current["label"] if current and current["is_list"] else capfirst(opts.verbose_name_plural)
    if title == f"Add {name}":
        return f"New {name}"
    original = context.get("original")
    if original is not None and title in (f"Change {name}", f"View {name}"):
        return str(original)
    return title
