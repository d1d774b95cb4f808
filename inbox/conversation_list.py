"""What an agent sees in the browser inbox: their conversations, counts and changes.

Every query starts from `visible_conversations(user)`: an agent sees the
conversations of the Inboxes they are a member of, nothing else.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from conversations.models import Conversation, Customer, CustomerIdentity, TimelineItem, change_feed

from . import reading
from .models import Inbox

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
FILTERS = {
    "all": "All open",
    "mine": "Mine",
    "unassigned": "Unassigned",
    "snoozed": "Snoozed",
    "closed": "Closed",
}
SORTS = {"sla": "SLA due first", "waiting": "Waiting longest", "newest": "Newest"}
DEFAULT_SORT = "sla"
SLA_STATES = {"overdue": "Overdue", "soon": "Due in 15 min", "running": "SLA running", "none": "No SLA"}
SLA_SOON = timedelta(minutes=15)
STATUSES = {"open": "Open", "waiting": "Waiting"}
DEFAULT_FILTER = "all"
# Items that make the list's "last message" preview.
PREVIEW_KINDS = [
    TimelineItem.Kind.CUSTOMER_MESSAGE,
    TimelineItem.Kind.AGENT_MESSAGE,
    TimelineItem.Kind.AUTO_REPLY,
    TimelineItem.Kind.STORY_MENTION,
    TimelineItem.Kind.STORY_REPLY,
    TimelineItem.Kind.OTHER_AUTOMATION,
]


def member_inbox_ids(user) -> list[int]:
    """The user's Inboxes, read once per user object (a request's `request.user`)."""
    cached = getattr(user, "_member_inbox_ids", None)
    if cached is None:
        cached = list(user.memberships.values_list("inbox_id", flat=True))
        user._member_inbox_ids = cached
    return list(cached)


def visible_conversations(user, inbox_ids=None):
    """Conversations in the user's Inboxes (optionally narrowed to some of them)."""
    ids = member_inbox_ids(user) if inbox_ids is None else inbox_ids
    return Conversation.objects.filter(inbox_id__in=ids)


def get_visible_conversation(user, pk) -> Conversation:
    """The conversation if it is in one of the user's Inboxes, else 404."""
    return get_object_or_404(
        visible_conversations(user).select_related("customer", "entry_point", "inbox", "assignee"), pk=pk
    )


def _int(value) -> int | None:
    value = (value or "").strip() if isinstance(value, str) else value
    if isinstance(value, str) and value.isascii() and value.isdigit() and 0 < int(value) < 2**63:
        return int(value)
    return None


def not_snoozed(now=None):
    """Conversations shown in the open lists: not snoozed, or their snooze time has come."""
    return Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now or timezone.now())


@dataclass(frozen=True)
class ListQuery:
    """The list an agent is looking at: filter, search, inbox scope, narrowing, order and page."""

    filter: str = DEFAULT_FILTER
    q: str = ""
    inbox: int | None = None
    page: int = 1
    topic: int | None = None
    channel: str = ""
    status: str = ""
    # An agent's id, or "none" for unassigned.
    assignee: str = ""
    sla: str = ""
    sort: str = DEFAULT_SORT

    @classmethod
    def from_params(cls, params, inbox_ids):
        filter_name = params.get("filter") or DEFAULT_FILTER
        if filter_name not in FILTERS:
            filter_name = DEFAULT_FILTER
        try:
            inbox = int(params.get("inbox") or 0) or None
        except ValueError:
            inbox = None
        if inbox not in inbox_ids:
            inbox = None
        try:
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            page = 1
        assignee = params.get("assignee") or ""
        if assignee != "none" and _int(assignee) is None:
            assignee = ""
        return cls(
            filter=filter_name,
            q=(params.get("q") or "").strip()[:100],
            inbox=inbox,
            page=page,
            topic=_int(params.get("topic")),
            channel=(params.get("channel") or "")[:20],
            status=params.get("status") if params.get("status") in STATUSES else "",
            assignee=assignee,
            sla=params.get("sla") if params.get("sla") in SLA_STATES else "",
            sort=params.get("sort") if params.get("sort") in SORTS else DEFAULT_SORT,
        )

    @property
    def narrowed(self) -> bool:
        return bool(self.topic or self.channel or self.status or self.assignee or self.sla)

    def scope(self, inbox_ids):
        return [self.inbox] if self.inbox else inbox_ids

    def params(self, **overrides) -> dict:
        values = {
            "filter": self.filter,
            "q": self.q,
            "inbox": self.inbox or "",
            "topic": self.topic or "",
            "channel": self.channel,
            "status": self.status,
            "assignee": self.assignee,
            "sla": self.sla,
            "sort": self.sort,
            "page": self.page,
        }
        values.update(overrides)
        return {key: value for key, value in values.items() if value not in ("", None, 1, DEFAULT_FILTER, DEFAULT_SORT)}


def filtered_conversations(user, query: ListQuery, inbox_ids):
    conversations = visible_conversations(user, query.scope(inbox_ids))
    now = timezone.now()
    if query.q:
        # A search looks through every status (each row shows its own); Mine / Unassigned still narrow it.
        if query.filter == "mine":
            conversations = conversations.filter(assignee=user)
        elif query.filter == "unassigned":
            conversations = conversations.filter(assignee__isnull=True)
    elif query.filter == "closed":
        conversations = conversations.filter(status=Conversation.Status.CLOSED)
    elif query.filter == "snoozed":
        conversations = conversations.exclude(status=Conversation.Status.CLOSED).filter(snoozed_until__gt=now)
    else:
        conversations = conversations.exclude(status=Conversation.Status.CLOSED).filter(not_snoozed(now))
        if query.filter == "mine":
            conversations = conversations.filter(assignee=user)
        elif query.filter == "unassigned":
            conversations = conversations.filter(assignee__isnull=True)
    if query.q:
        conversations = conversations.filter(search_condition(query.q))
    return narrowed(conversations, query, now)


# Up to this many conversations a search names by id; beyond it (a very common
# word) the message text is tested per conversation instead.
SEARCH_ID_LIMIT = 5000


def search_condition(q: str):
    """Conversations whose customer's name, username, email, phone or id, or any message text, holds `q`.

    Each field is searched on its own (so PostgreSQL answers each from its
    trigram index, where one OR across tables would test every conversation),
    and the matches are named by id: two indexed queries, then a look-up by
    primary key."""
    term = q.lstrip("@")
    customers = (
        Customer.objects.filter(name__icontains=q)
        .values("pk")
        .union(
            Customer.objects.filter(username__icontains=term).values("pk"),
            Customer.objects.filter(emails__icontains=q).values("pk"),
            Customer.objects.filter(phones__icontains=q).values("pk"),
            CustomerIdentity.objects.filter(external_id__icontains=q).values("customer_id"),
        )
    )
    customer_ids = [pk for (pk,) in customers.values_list("pk")[:SEARCH_ID_LIMIT]]
    by_text = list(
        TimelineItem.objects.filter(text__icontains=q)
        .order_by()
        .values_list("conversation_id", flat=True)
        .distinct()[: SEARCH_ID_LIMIT + 1]
    )
    by_customer = Q(customer_id__in=customer_ids)
    if len(by_text) > SEARCH_ID_LIMIT:
        return by_customer | Exists(TimelineItem.objects.filter(conversation_id=OuterRef("pk"), text__icontains=q))
    return by_customer | Q(pk__in=by_text)


def with_match(conversations, q: str):
    """Each row's newest message holding `q`, to show the match highlighted."""
    matching = TimelineItem.objects.filter(conversation_id=OuterRef("pk"), text__icontains=q).order_by("-occurred_at")
    return conversations.annotate(match_text=Subquery(matching.values("text")[:1]))


def narrowed(conversations, query: ListQuery, now):
    """The list narrowed by topic, channel, status, assignee and SLA state."""
    if query.topic:
        conversations = conversations.filter(topics=query.topic)
    if query.channel:
        conversations = conversations.filter(entry_point__channel__kind=query.channel)
    if query.status:
        conversations = conversations.filter(status=query.status)
    if query.assignee == "none":
        conversations = conversations.filter(assignee__isnull=True)
    elif query.assignee:
        conversations = conversations.filter(assignee_id=int(query.assignee))
    if query.sla == "overdue":
        conversations = conversations.filter(sla_due_at__lte=now)
    elif query.sla == "soon":
        conversations = conversations.filter(sla_due_at__gt=now, sla_due_at__lte=now + SLA_SOON)
    elif query.sla == "running":
        conversations = conversations.filter(sla_due_at__isnull=False)
    elif query.sla == "none":
        conversations = conversations.filter(sla_due_at__isnull=True)
    return conversations


def ordered(conversations, query: ListQuery):
    if query.q:
        return conversations.order_by("-updated_at", "-id")
    if query.filter == "closed":
        return conversations.order_by("-closed_at", "-id")
    if query.sort == "waiting":
        # The customer who has waited longest for us first.
        return conversations.order_by(F("last_customer_message_at").asc(nulls_last=True), "opened_at", "id")
    if query.sort == "newest":
        return conversations.order_by("-opened_at", "-id")
    # The most urgent first: SLA due soonest, then the oldest.
    return conversations.order_by(F("sla_due_at").asc(nulls_last=True), "opened_at", "id")


def with_preview(conversations):
    last_item = TimelineItem.objects.filter(conversation_id=OuterRef("pk"), kind__in=PREVIEW_KINDS).order_by(
        "-occurred_at", "-id"
    )
    return (
        conversations.select_related("customer", "entry_point", "assignee", "inbox")
        .prefetch_related("topics")
        .annotate(
            preview_text=Subquery(last_item.values("text")[:1]),
            preview_kind=Subquery(last_item.values("kind")[:1]),
            preview_deleted=Subquery(last_item.values("deleted_by_customer")[:1]),
        )
    )


def conversation_page(user, query: ListQuery, inbox_ids):
    """One page of the list, most urgent first, with each row's last message."""
    conversations = ordered(filtered_conversations(user, query, inbox_ids), query)
    rows = reading.with_unread(with_preview(conversations), user)
    if query.q:
        rows = with_match(rows, query.q)
    paginator = Paginator(rows, PAGE_SIZE)
    return paginator.get_page(query.page)


@dataclass(frozen=True)
class Counts:
    """The one source of the top bar's and the tabs' numbers."""

    # Every conversation not closed ("All open"), the waiting ones included.
    open: int
    # Of those, the ones waiting on the customer.
    waiting: int
    mine: int
    unassigned: int
    # Conversations that wait for this agent's reply: theirs or nobody's, with
    # a Conversation SLA running.
    awaiting_me: int


def counts(user, inbox_ids) -> Counts:
    """The header's counts in one query."""
    active = ~Q(status=Conversation.Status.CLOSED) & not_snoozed()
    values = (
        Conversation.objects.filter(inbox_id__in=inbox_ids)
        .filter(active)
        .aggregate(
            open=Count("pk"),
            waiting=Count("pk", filter=Q(status=Conversation.Status.WAITING)),
            mine=Count("pk", filter=Q(assignee=user)),
            unassigned=Count("pk", filter=Q(assignee__isnull=True)),
            awaiting_me=Count("pk", filter=(Q(assignee=user) | Q(assignee__isnull=True)) & Q(sla_due_at__isnull=False)),
        )
    )
    return Counts(**values)


def latest_change() -> int:
    """The cursor for live updates: the newest change number committed (`conversations.models.change_feed`).

    Read it before reading what the page shows: a change committed in between
    is then numbered above the cursor (or not numbered yet), so the next poll
    brings it."""
    return change_feed.current_cursor()


@dataclass(frozen=True)
class Changes:
    cursor: int
    conversation_ids: set[int]


# Conversations one poll answers with; the rest come with the next poll, from its cursor.
CHANGES_LIMIT = 500


def changes_since(cursor: int, inbox_ids, shown_ids=(), visible_inbox_ids=None) -> Changes | None:
    """What changed after the cursor in these Inboxes, or among conversations on screen.

    A change is numbered after it commits, in commit order (numbered here
    when this reader is the first to see it); one that cannot be numbered
    yet (its row is being changed again) counts as changed, so nothing is
    passed over however late it commits. Conversations on screen are
    included so that one moved out of the agent's inboxes disappears too.
    Only those still in `visible_inbox_ids` (the agent's Inboxes) are looked
    at; any other shown id counts as gone without reading its change, so
    polling with other inboxes' ids reveals nothing about them.
    """
    shown_ids = set(shown_ids)
    visible_shown = set()
    if shown_ids:
        visible_ids = inbox_ids if visible_inbox_ids is None else visible_inbox_ids
        visible_shown = set(
            Conversation.objects.filter(pk__in=shown_ids, inbox_id__in=visible_ids).values_list("pk", flat=True)
        )
    scope = Conversation.objects.filter(Q(inbox_id__in=inbox_ids) | Q(pk__in=visible_shown))
    unnumbered = set(scope.filter(change_seq__isnull=True).values_list("pk", flat=True)[:CHANGES_LIMIT])
    if unnumbered and not connection.in_atomic_block:
        # Committed changes nobody has numbered yet: number them now, so the cursor can pass them.
        # Never inside a caller's transaction, which would hold the counter's lock until it ends.
        try:
            change_feed.stamp_changes()
        except DatabaseError:
            # The database is busy (SQLite's one writer): they are answered unnumbered, and numbered next time.
            logger.warning("Could not number conversation changes now", exc_info=True)
        unnumbered = set(scope.filter(change_seq__isnull=True).values_list("pk", flat=True)[:CHANGES_LIMIT])
    numbered = list(
        scope.filter(change_seq__gt=cursor).order_by("change_seq").values_list("pk", "change_seq")[:CHANGES_LIMIT]
    )
    gone = shown_ids - visible_shown
    if not numbered and not unnumbered and not gone:
        return None
    return Changes(
        cursor=max((change_seq for _, change_seq in numbered), default=cursor),
        conversation_ids={pk for pk, _ in numbered} | unnumbered | gone,
    )


def member_inboxes(user):
    return Inbox.objects.filter(memberships__user=user).select_related("channel").order_by("name")
