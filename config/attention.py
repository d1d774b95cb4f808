"""What needs an admin's attention, for the Settings home.

Each app contributes its own items: it registers a provider in its
``AppConfig.ready`` (``attention.register(provider)``), and the Settings home
asks every provider. So the home page knows nothing about Instagram, email or
inboxes, and an app that is not installed contributes nothing.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class AttentionItem:
    """One line on the Settings home: what is wrong, and where to fix it."""

    title: str
    detail: str = ""
    url: str = ""
    action: str = "Open"
    # "danger": customers are not being answered; "warning": something to look at.
    tone: str = "warning"


Provider = Callable[[object], Iterable[AttentionItem]]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    """Add a provider: a function of the request returning AttentionItems. Usable as a decorator."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def collect(request) -> list[AttentionItem]:
    """Every provider's items, the most urgent ("danger") first, each provider's order kept."""
    items = [item for provider in _providers for item in provider(request)]
    return sorted(items, key=lambda item: item.tone != "danger")
