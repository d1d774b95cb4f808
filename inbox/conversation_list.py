"""What an agent sees in the browser inbox: their conversations, counts and changes.

Every query starts from `visible_conversations(user)`: an agent sees the
conversations of the Inboxes they are a member of, nothing else.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.core.paginator import Paginator
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Value
from django.shortcuts import get_object_or_404
from django.utils import timezone

from conversations.models import Conversation, TimelineItem, change_feed

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


def filtered_conversations(user, query: ListQuery, inbox_ids, matches: "SearchMatches | None" = None):
    """The list's conversations before ordering; `matches` are a search's (see `search_matches`)."""
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
        matches = matches or search_matches(query.q)
        conversations = conversations.filter(pk__in=matches.conversation_ids)
    return narrowed(conversations, query, now)


# Each field's matches are read from its trigram index up to this many rows. A word in
# most messages would otherwise be tested in all of them (a million items: seconds);
# a search that reaches the cap shows the conversations of those matches and says so.
SEARCH_CAP = 500


@dataclass(frozen=True)
class SearchMatches:
    conversation_ids: frozenset[int]
    # True when some field had SEARCH_CAP matches or more: the list shows some of them.
    capped: bool


def search_matches(q: str, cap: int | None = None) -> SearchMatches:
    """Conversations whose customer's name, username, email, phone or id, or any message text, holds `q`.

    The trigram index first, the join after: each field is its own query, which
    PostgreSQL answers from that field's trigram index (the `UPPER(col::text) LIKE`
    that `icontains` writes is the indexed expression) and stops after `cap` rows;
    the caller then looks the few conversations up by primary key with its inbox,
    status and other filters. On PostgreSQL the capped queries go as one UNION ALL;
    SQLite (no trigram index, no LIMIT inside a UNION) runs them one after another.
    """
    cap = cap or SEARCH_CAP
    term = q.lstrip("@")
    conversations = Conversation.objects.order_by()
    fields = [
        (TimelineItem.objects.order_by().filter(text__icontains=q), "conversation_id"),
        (conversations.filter(customer__name__icontains=q), "pk"),
        (conversations.filter(customer__username__icontains=term), "pk"),
        (conversations.filter(customer__emails__icontains=q), "pk"),
        (conversations.filter(customer__phones__icontains=q), "pk"),
        (conversations.filter(customer__identities__external_id__icontains=q), "pk"),
    ]
    capped = [
        queryset.annotate(field=Value(n)).values_list(column, "field")[:cap]
        for n, (queryset, column) in enumerate(fields)
    ]
    if connection.vendor == "postgresql":
        rows = _union_within_budget(capped[0].union(*capped[1:], all=True))
    else:
        rows = [row for queryset in capped for row in queryset]
    per_field = Counter(field for _, field in rows)
    return SearchMatches(
        conversation_ids=frozenset(pk for pk, _ in rows),
        capped=any(count >= cap for count in per_field.values()),
    )


# How long PostgreSQL may follow its own plan for a search before the trigram index is imposed.
SEARCH_PLAN_BUDGET_MS = 100


def _union_within_budget(union) -> list:
    """The capped UNION's rows: PostgreSQL's own plan first, within SEARCH_PLAN_BUDGET_MS, else through the index.

    With a LIMIT the planner often reads the items table until it has `cap` matches:
    a few thousand rows for a common word spread over every conversation (15 ms, where
    the index's long posting lists cost 0.2-0.7 s), but a million rows when the matches
    sit together (one conversation's messages, a week's campaign: 1.1 s at 1M items, 30-190 ms
    through the index). A statement timeout tells the two apart."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL statement_timeout = {SEARCH_PLAN_BUDGET_MS}")
        try:
            with transaction.atomic():
                return list(union)
        except OperationalError:
            cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL statement_timeout TO DEFAULT")
            return list(union)
        finally:
            # For the rest of an enclosing transaction, if there is one.
            cursor.execute("SET LOCAL statement_timeout TO DEFAULT; SET LOCAL enable_seqscan TO DEFAULT")


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
    """One page of the list, most urgent first, with each row's last message.

    A search's page says in `search_capped` whether it shows only some of the matches."""
    matches = search_matches(query.q) if query.q else None
    conversations = ordered(filtered_conversations(user, query, inbox_ids, matches), query)
    rows = reading.with_unread(with_preview(conversations), user)
    if query.q:
        rows = with_match(rows, query.q)
    page = Paginator(rows, PAGE_SIZE).get_page(query.page)
    page.search_capped = bool(matches and matches.capped)
    return page


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
