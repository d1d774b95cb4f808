from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q


class AppUserManager(UserManager):
    """Users sign in with their email address; there is no username."""

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.update(is_superuser=True, is_staff=True, role=User.Role.ADMIN)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    class Role(models.TextChoices):
        AGENT = "agent", "Agent"
        ADMIN = "admin", "Admin"

    username = None
    email = models.EmailField("email address", unique=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    capacity = models.PositiveSmallIntegerField(
        default=8,
        help_text="How many open conversations this agent is offered at most.",
    )
    phone_number = models.CharField(
        "phone number",
        max_length=16,
        blank=True,
        help_text="Calls to Voice numbers ring this phone while the agent is available in Voice. "
        "International format, e.g. +1 415 555 0100.",
    )

    # Notifications of a new conversation offered to the agent or a new message in theirs (inbox pages).
    notify_desktop = models.BooleanField(
        "desktop notifications", default=True, help_text="While the inbox tab is open but not in front."
    )
    notify_sound = models.BooleanField("notification sound", default=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []
    objects = AppUserManager()

    class Meta:
        ordering = ["first_name", "last_name", "email"]

    def __str__(self):
        return self.get_full_name() or self.email

    def save(self, *args, **kwargs):
        # Admins work in Settings (the Django admin), so they are staff; agents
        # never are. Superusers are the product's own support staff.
        self.is_staff = self.role == self.Role.ADMIN or self.is_superuser
        super().save(*args, **kwargs)

    @property
    def is_settings_admin(self):
        return self.is_superuser or (self.role == self.Role.ADMIN and self.is_staff)

    def has_perm(self, perm, obj=None):
        # Admins manage everything in Settings; the few superuser-only switches
        # are guarded by their ModelAdmin.
        if self.is_active and self.is_settings_admin:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label):
        if self.is_active and self.is_settings_admin:
            return True
        return super().has_module_perms(app_label)


class Inbox(models.Model):
    """A queue of conversations that a set of agents work."""

    name = models.CharField(max_length=100, unique=True)
    channel = models.ForeignKey(
        "channels_app.Channel",
        on_delete=models.PROTECT,
        related_name="inboxes",
        help_text="The Channel whose conversations this inbox serves.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="InboxMembership",
        related_name="inboxes",
        blank=True,
    )
    first_response_minutes = models.PositiveIntegerField(
        "first response target (minutes)",
        default=60,
        help_text="Conversation SLA: minutes to the first agent reply.",
    )
    next_response_minutes = models.PositiveIntegerField(
        "next response target (minutes)",
        default=120,
        help_text="Conversation SLA: minutes to reply to each later customer message.",
    )
    business_hours = models.ForeignKey(
        "conversations.BusinessHours",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inboxes",
        help_text="Outside these hours the first customer message gets the schedule's auto-reply.",
    )
    sla_business_hours_only = models.BooleanField(
        "count SLA in business hours only",
        default=False,
        help_text="Count the Conversation SLA targets only while the business hours are open.",
    )
    reopen_on_customer_reply = models.BooleanField(
        "reopen on the customer's reply",
        default=False,
        help_text="A customer's reply to a closed conversation (e.g. an answer to our email) reopens it. "
        "Off: the reply starts a new conversation.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "inboxes"

    def __str__(self):
        return self.name


class InboxMembership(models.Model):
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["inbox", "user"], name="unique_inbox_member")]
        verbose_name = "member"

    def __str__(self):
        return f"{self.user} in {self.inbox}"


class AgentAvailability(models.Model):
    """Whether an agent takes new conversations of a Channel right now."""

    class Status(models.TextChoices):
        AVAILABLE = "available", "Available"
        AWAY = "away", "Away"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availabilities")
    channel = models.ForeignKey("channels_app.Channel", on_delete=models.CASCADE, related_name="availabilities")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AWAY)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "channel"], name="unique_availability_per_channel"),
            models.CheckConstraint(condition=Q(status__in=["available", "away"]), name="availability_status_valid"),
        ]
        verbose_name_plural = "agent availabilities"

    def __str__(self):
        return f"{self.user}: {self.get_status_display()} in {self.channel}"


class ConversationRead(models.Model):
    """How far an agent has seen a conversation: its items up to `last_seen_item_id`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversation_reads")
    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="reads")
    last_seen_item_id = models.BigIntegerField(default=0)
    seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "conversation"], name="one_read_marker_per_agent")]

    def __str__(self):
        return f"{self.user} saw {self.conversation_id} up to item {self.last_seen_item_id}"


class ConversationPresence(models.Model):
    """An agent has a conversation open (and maybe is typing): shown to the others before two answer at once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presences")
    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="presences")
    typing = models.BooleanField(default=False)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "conversation"], name="one_presence_per_agent")]

    def __str__(self):
        return f"{self.user} on {self.conversation_id}"
