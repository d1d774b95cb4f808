"""The agents' inbox socket at /ws/inbox/: it tells the page what changed, the page fetches the fragments.

An agent's socket joins the group of each Inbox they are a member of, and the
groups of the conversations their page shows (so a conversation transferred
away still tells the page to drop it). Messages to the page are tiny JSON
notes; the HTML comes from the same changes endpoint the fallback poll uses,
so what an agent may see is decided in one place.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from conversations.live.groups import conversation_group, inbox_group
from inbox import conversation_list as listing

# A page shows at most a page of conversations plus the open one.
MAX_WATCHED = listing.PAGE_SIZE + 1


@database_sync_to_async
def _member_inbox_ids(user) -> list[int]:
    return listing.member_inbox_ids(user)


@database_sync_to_async
def _visible_ids(user, conversation_ids) -> set[int]:
    return set(listing.visible_conversations(user).filter(pk__in=conversation_ids).values_list("pk", flat=True))


def _ids(values) -> list[int]:
    if not isinstance(values, list):
        return []
    return [value for value in values if isinstance(value, int) and 0 < value < 2**63][:MAX_WATCHED]


class InboxConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.inbox_ids = await _member_inbox_ids(user)
        self.watched = set()
        for inbox_id in self.inbox_ids:
            await self.channel_layer.group_add(inbox_group(inbox_id), self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello"})

    async def disconnect(self, code):
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

    # Group messages ------------------------------------------------------

    async def conversation_changed(self, event):
        await self.send_json({"type": "changed", "conversation_id": event["conversation_id"]})

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
