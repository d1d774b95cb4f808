from django import template

from conversations.models import Weekday

register = template.Library()


@register.filter
def by_weekday(inline_admin_formset):
    """The interval forms grouped into one row per weekday, Monday first: [(label, [inline form, …]), …]."""
    rows = {day: [] for day in Weekday.values}
    for inline_form in inline_admin_formset:
        value = inline_form.form["weekday"].value()
        try:
            day = int(value)
        except (TypeError, ValueError):
            continue
        rows.setdefault(day, []).append(inline_form)
    return [(Weekday(day).label, forms) for day, forms in rows.items()]
