"""Agents' availability per Channel."""

from conversations.routing import offer_waiting_work

from .models import AgentAvailability, User


def set_availability(user: User, channel, status: str) -> AgentAvailability:
    """Record an agent's availability in a Channel; going available picks up waiting work."""
    availability, _ = AgentAvailability.objects.update_or_create(
        user=user, channel=channel, defaults={"status": status}
    )
    if status == AgentAvailability.Status.AVAILABLE:
        offer_waiting_work(user, channel)
    return availability
