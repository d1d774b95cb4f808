import calendar
import datetime

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


@register.simple_tag(takes_context=True)
def holiday_calendar(context, inline_admin_formset):
    """The year's months with their days and which are holidays, for the calendar above the holiday list.

    Without JavaScript this is the calendar (read-only; holidays are added in the list); static/holidays.js
    renders the same markup with days to click. The year is ?holidays_year= or this year.
    """
    request = context.get("request")
    try:
        year = int(request.GET.get("holidays_year", "")) if request else None
    except ValueError:
        year = None
    if year is None or not 1900 <= year <= 2200:
        year = datetime.date.today().year
    names = {}
    for inline_form in inline_admin_formset:
        form = inline_form.form
        value = form["date"].value()
        if isinstance(value, str):
            try:
                value = datetime.date.fromisoformat(value)
            except ValueError:
                continue
        if isinstance(value, datetime.date) and not form["DELETE"].value():
            names[value] = form["name"].value() or "Holiday"
    weeks = calendar.Calendar(firstweekday=0)
    months = []
    for month in range(1, 13):
        rows = [
            [{"date": day, "holiday": names.get(day)} if day.month == month else None for day in week]
            for week in weeks.monthdatescalendar(year, month)
        ]
        months.append({"name": datetime.date(year, month, 1).strftime("%B %Y"), "weeks": rows})
    return {
        "year": year,
        "months": months,
        "weekdays": [(label, label[:2]) for label in Weekday.labels],
        "count": sum(1 for day in names if day.year == year),
        "today": datetime.date.today(),
    }
