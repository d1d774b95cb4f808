"""The active Rules and the Business Hours schedules, kept per process for a few seconds.

Every customer message consults them and they change rarely, so reading them
from the database for each message was most of the inbound path's cost. Each
process keeps them for `RULES_CACHE_SECONDS` and forgets them at once when it
saves or deletes one itself (`forget`, connected in `conversations.receivers`);
other processes apply an admin's change within those seconds.
"""

import time

from django.conf import settings

from .models import BusinessHours, Rule

_state = {"loaded_at": None, "rules": [], "business_hours": {}}


def _fresh() -> bool:
    loaded_at = _state["loaded_at"]
    return loaded_at is not None and time.monotonic() - loaded_at < settings.RULES_CACHE_SECONDS


def _load() -> None:
    business_hours = {hours.pk: hours for hours in BusinessHours.objects.prefetch_related("intervals", "holidays")}
    for hours in business_hours.values():
        hours.schedule = hours.as_schedule()
    rules = list(Rule.objects.filter(active=True).select_related("move_to_inbox", "assign_to"))
    for rule in rules:
        # The rule's own schedule, from the same cache (one object per schedule).
        rule.schedule_hours = business_hours.get(rule.business_hours_id)
    _state.update(loaded_at=time.monotonic(), rules=rules, business_hours=business_hours)


def active_rules() -> list[Rule]:
    if not _fresh():
        _load()
    return _state["rules"]


def business_hours(business_hours_id: int | None) -> BusinessHours | None:
    """The schedule with this id, its `schedule` computed once; None for no id."""
    if business_hours_id is None:
        return None
    if not _fresh() or business_hours_id not in _state["business_hours"]:
        _load()
    return _state["business_hours"].get(business_hours_id)


def forget(**kwargs) -> None:
    _state["loaded_at"] = None
