"""The agents' inbox socket at /ws/inbox/: it tells the page what changed, the page fetches the fragments.

An agent's socket joins the group of each Inbox they are a member of, and the
groups of the conversations their page shows (so a conversation transferred
away still tells the page to drop it). Messages to the page are tiny JSON
notes; the HTML comes from the same changes endpoint the fallback poll uses,
so what an agent may see is decided in one place.

The same socket carries what the page polled for before, while it is up:
notifications (a new conversation offered to me, a new message in mine; the
page says from which item id with `notify_from`) and presence (the page
says which conversation it shows and whether the agent types, `viewing`,
and hears who else is there). The polls remain as the fallback.
"""

import asyncio
import collections

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.urls import reverse

from conversations.live.groups import conversation_group, inbox_group
from inbox import conversation_list as listing
from inbox import presence, reading

# A page shows at most a page of conversations plus the open one.
MAX_WATCHED = listing.PAGE_SIZE + 1
# A busy inbox changes many times a second: each socket looks for new notices at most this often (s),
NOTICES_EVERY = 1.0
# and tells its page at most this often that something changed (the page fetches all of it at once).
NOTE_EVERY = 0.1


@database_sync_to_async
def _member_inbox_ids(user) -> list[int]:
    return listing.member_inbox_ids(user)


@database_sync_to_async
def _visible_ids(user, conversation_ids) -> set[int]:
    return set(listing.visible_conversations(user).filter(pk__in=conversation_ids).values_list("pk", flat=True))


@database_sync_to_async
def _notices(user, inbox_ids, after: int) -> tuple[list[dict], int]:
    notices = reading.notices_since(user, inbox_ids, after)
    shown = [
        {
            "title": notice.title,
            "body": notice.body,
            "url": reverse("inbox:conversation", args=[notice.conversation_id]),
            "tag": f"conversation-{notice.conversation_id}",
        }
        for notice in notices
    ]
    return shown, max([after, *(notice.item_id for notice in notices)])


@database_sync_to_async
def _report(user, conversation_id: int, typing: bool) -> bool:
    return presence.report(user, conversation_id, typing=typing)


@database_sync_to_async
def _leave(user, conversation_id: int) -> None:
    presence.leave(user, conversation_id)


@database_sync_to_async
def _others(user, conversation_id: int) -> list[dict]:
    return presence.as_json(presence.others(user, conversation_id))


def _ids(values) -> list[int]:
    if not isinstance(values, list):
        return []
    return [value for value in values if isinstance(value, int) and 0 < value < 2**63][:MAX_WATCHED]


class _Spaced:
    """Runs `action` at most once per `every()` seconds: at once when it last ran longer ago, else once
    when the time is up, which covers every call meanwhile (the action does all there is at its moment)."""

    def __init__(self, every, action):
        self.every = every
        self.action = action
        self.last = 0.0
        self.due = None

    async def __call__(self):
        if self.due is not None:
            return
        wait = self.last + self.every() - asyncio.get_running_loop().time()
        if wait > 0:
            self.due = asyncio.ensure_future(self._later(wait))
        else:
            await self._run()

    async def _later(self, wait):
        await asyncio.sleep(wait)
        self.due = None
        await self._run()

    async def _run(self):
        self.last = asyncio.get_running_loop().time()
        await self.action()

    def cancel(self):
        if self.due is not None:
            self.due.cancel()


class InboxConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.inbox_ids = await _member_inbox_ids(user)
        self.watched = set()
        # Set by the page: the item id its notifications start after, and the conversation it shows.
        self.notify_after = None
        self.viewing = None
        # Both at most so often; a call meanwhile is covered by one run when the time is up.
        self.look_for_notices = _Spaced(lambda: NOTICES_EVERY, self._send_notices)
        self.tell_changed = _Spaced(lambda: NOTE_EVERY, self._send_changed)
        self.changed_id = None  # the latest change's conversation, for the note
        self.heard = collections.deque(maxlen=64)  # the latest announcements (`change`) told
        for inbox_id in self.inbox_ids:
            await self.channel_layer.group_add(inbox_group(inbox_id), self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello"})

    async def disconnect(self, code):
        for spaced in (getattr(self, "look_for_notices", None), getattr(self, "tell_changed", None)):
            if spaced is not None:
                spaced.cancel()
        if getattr(self, "viewing", None) is not None:
            await _leave(self.scope["user"], self.viewing)
            await self._presence_changed(self.viewing)
        for inbox_id in getattr(self, "inbox_ids", []):
            await self.channel_layer.group_discard(inbox_group(inbox_id), self.channel_name)
        for conversation_id in getattr(self, "watched", set()):
            await self.channel_layer.group_discard(conversation_group(conversation_id), self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "watch":
            await self._watch(_ids(content.get("conversation_ids")))
        elif kind == "notify_from":
            after = content.get("after")
            if isinstance(after, int) and not isinstance(after, bool) and 0 <= after < 2**63:
                self.notify_after = after
        elif kind == "viewing":
            await self._viewing(
                content.get("conversation_id"), bool(content.get("typing")), fresh=content.get("fresh") is True
            )
        elif kind in ("typing", "seen"):
            conversation_id = content.get("conversation_id")
            ids = _ids([conversation_id])
            if not ids or ids[0] not in await _visible_ids(self.scope["user"], ids):
                return
            await self.channel_layer.group_send(
                conversation_group(ids[0]),
                {
                    "type": "agent.typing" if kind == "typing" else "agent.seen",
                    "conversation_id": ids[0],
                    "typing": bool(content.get("typing", True)),
                },
            )

    async def _watch(self, conversation_ids):
        wanted = await _visible_ids(self.scope["user"], conversation_ids) if conversation_ids else set()
        for conversation_id in self.watched - wanted:
            await self.channel_layer.group_discard(conversation_group(conversation_id), self.channel_name)
        for conversation_id in wanted - self.watched:
            await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)
        self.watched = wanted

    async def _viewing(self, conversation_id, typing, fresh=False):
        """The page shows this conversation (or none), reported on arrival, on typing and every few seconds.

        Arriving (or a page that has just drawn the conversation, `fresh`) hears who else is there."""
        user = self.scope["user"]
        ids = _ids([conversation_id])
        shown = ids[0] if ids and ids[0] in await _visible_ids(user, ids) else None
        if self.viewing is not None and self.viewing != shown:
            await _leave(user, self.viewing)
            await self._presence_changed(self.viewing)
        arrived = shown is not None and shown != self.viewing
        self.viewing = shown
        if shown is None:
            return
        if await _report(user, shown, typing):
            await self._presence_changed(shown)
        if arrived or fresh:
            await self.send_json({"type": "presence", "conversation_id": shown, "others": await _others(user, shown)})

    async def _presence_changed(self, conversation_id):
        await self.channel_layer.group_send(
            conversation_group(conversation_id),
            {"type": "presence.changed", "conversation_id": conversation_id, "by": self.channel_name},
        )

    # Group messages ------------------------------------------------------

    async def conversation_changed(self, event):
        change = event.get("change")
        if change is not None:
            if change in self.heard:
                return  # the same announcement through the other group
            self.heard.append(change)
        self.changed_id = event["conversation_id"]
        await self.tell_changed()
        if self.notify_after is not None:  # else the page takes no notices
            await self.look_for_notices()

    async def _send_changed(self):
        await self.send_json({"type": "changed", "conversation_id": self.changed_id})

    async def _send_notices(self):
        notices, self.notify_after = await _notices(self.scope["user"], self.inbox_ids, self.notify_after)
        if notices:
            await self.send_json({"type": "notify", "notices": notices, "after": self.notify_after})

    async def presence_changed(self, event):
        conversation_id = event["conversation_id"]
        # Its own report changes nothing this page shows (the others exclude its agent).
        if conversation_id == self.viewing and event.get("by") != self.channel_name:
            others = await _others(self.scope["user"], conversation_id)
            await self.send_json({"type": "presence", "conversation_id": conversation_id, "others": others})

    async def visitor_typing(self, event):
        await self.send_json(
            {"type": "typing", "conversation_id": event["conversation_id"], "typing": event.get("typing", True)}
        )

    # The agents' own notes to a conversation's group reach their pages too; nothing to show.
    async def agent_typing(self, event):
        pass

    async def agent_seen(self, event):
        pass

    async def agent_message(self, event):
        pass
