import secrets
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from channels_app.models import EntryPoint


def new_public_id() -> str:
    return secrets.token_urlsafe(12)


def new_visitor_id() -> str:
    return f"v_{secrets.token_urlsafe(16)}"


def normalise_origin(value: str) -> str:
    """`https://Shop.example.com/` → `https://shop.example.com`; "" when it is not an origin."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return ""
    if parts.query or parts.fragment or parts.username:
        return ""
    host = parts.hostname.lower()
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{host}{port}"


class ChatWidget(models.Model):
    """A chat widget on the company's website: the Chat Channel's Entry Point."""

    entry_point = models.OneToOneField(EntryPoint, on_delete=models.PROTECT, related_name="chat_widget")
    name = models.CharField(max_length=100, help_text="Shown at the top of the chat, e.g. “Acme Support”.")
    public_id = models.CharField(
        max_length=32,
        unique=True,
        default=new_public_id,
        editable=False,
        help_text="Names this widget in the snippet; not a secret.",
    )
    allowed_origins = models.JSONField(
        default=list,
        help_text="Websites allowed to open this chat, one per line, e.g. https://www.acme.com",
    )
    colour = models.CharField(
        max_length=7,
        default="#4f46e5",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour like #4f46e5.")],
    )
    greeting = models.CharField(max_length=300, default="Hi! How can we help?")
    offline_message = models.CharField(
        max_length=300,
        default="We're away right now. Leave a message and your email, and we'll get back to you.",
        help_text="Shown when nobody of the Inbox is available or outside Business Hours.",
    )
    ask_for_contact = models.BooleanField(
        "ask name and email first", default=False, help_text="Visitors give their name and email before chatting."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = "chat widget"
        verbose_name_plural = "chat widgets"

    def __str__(self):
        return self.name

    def clean(self):
        origins = []
        for origin in self.allowed_origins or []:
            normalised = normalise_origin(origin)
            if not normalised:
                raise ValidationError({"allowed_origins": f"“{origin}” is not a website origin like https://acme.com"})
            origins.append(normalised)
        self.allowed_origins = sorted(set(origins))

    def allows_origin(self, origin: str) -> bool:
        return bool(origin) and normalise_origin(origin) in self.allowed_origins


class ChatVisitor(models.Model):
    """Someone chatting through a widget; `visitor_id` is their identity at the Entry Point."""

    widget = models.ForeignKey(ChatWidget, on_delete=models.CASCADE, related_name="visitors")
    visitor_id = models.CharField(max_length=40, unique=True, default=new_visitor_id, editable=False)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    page_url = models.URLField(max_length=2000, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # The visitor's browser's IANA time zone ("Europe/Madrid"): their transcript's times are in it.
    time_zone = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self):
        return self.name or self.email or self.visitor_id
