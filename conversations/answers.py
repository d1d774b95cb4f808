"""Answers (saved replies): which ones an agent may use, finding them, filling their variables, counting use."""

import re

from django.db.models import F, Q

from .models import Answer

VARIABLE = re.compile(r"\{\{\s*(customer|agent)\.(first_name|name)\s*\}\}")


def available(inbox_ids):
    """Answers shared by every inbox or kept for one of these Inboxes."""
    return Answer.objects.filter(Q(inbox__isnull=True) | Q(inbox_id__in=inbox_ids))


def search(answers, q: str, limit: int = 8):
    """The answers whose title or text holds every word of `q`; most used first."""
    for word in q.split()[:5]:
        answers = answers.filter(Q(title__icontains=word) | Q(body__icontains=word))
    return answers.order_by("-usage_count", "title")[:limit]


def fill(body: str, customer, agent) -> str:
    """The answer's text for this customer and agent. An unknown value leaves a neutral word, never the braces."""
    values = {
        ("customer", "name"): customer.name or "there",
        ("customer", "first_name"): customer.first_name or "there",
        ("agent", "name"): (agent.get_full_name() or agent.first_name) if agent else "",
        ("agent", "first_name"): agent.first_name if agent else "",
    }
    return VARIABLE.sub(lambda match: values[(match.group(1), match.group(2))], body)


def record_use(answer_ids, inbox_ids) -> int:
    """Count one use of each answer sent (only ones the agent may use)."""
    ids = {int(pk) for pk in answer_ids if str(pk).isdigit()}
    if not ids:
        return 0
    return available(inbox_ids).filter(pk__in=ids).update(usage_count=F("usage_count") + 1)
