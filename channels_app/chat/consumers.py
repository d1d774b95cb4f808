"""The visitor's socket at /ws/chat/<public id>/, opened by the widget on the company's website.

The handshake is refused unless the page's Origin is one of the widget's
allowed origins. The first message must be `hello` with the visitor's signed
token (or none: a new visitor); the answer carries a fresh token, the history
(for a widget that reconnects with `after`, the newest item id it shows: what
it missed) and whether anyone is there. Agents' replies, typing and "seen" arrive through
the visitor's group and their conversation's group.
"""

import logging

from celery import current_app
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from conversations.live.groups import conversation_group, inbox_group

from . import transcripts, visitors
from .models import ChatWidget

logger = logging.getLogger(__name__)

# Text frames larger than this are dropped before parsing.
MAX_FRAME_CHARS = 16_000


def header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


@database_sync_to_async
def _widget(public_id):
    return (
        ChatWidget.objects.select_related("entry_point__channel", "entry_point__business_hours")
        .filter(public_id=public_id, entry_point__active=True)
        .first()
    )


@database_sync_to_async
def _start(widget, token, page_url, user_agent, ip_address, after, time_zone=""):
    visitor, token = visitors.start_visit(
        widget, token, page_url=page_url, user_agent=user_agent, ip_address=ip_address, time_zone=time_zone
    )
    conversation = visitors.current_conversation(visitor)
    available = visitors.availability(widget)
    return visitor, token, conversation, visitors.history(visitor, after=after), available


@database_sync_to_async
def _receive(visitor, ip_address, client_id, text):
    visitors.check_rate(visitor, ip_address)
    received = visitors.receive_visitor_message(visitor, client_id, text)
    item = received.item
    return visitors.serialise(item) if item else None, item.conversation if item else None


def _ask_for_transcript(visitor):
    """Refused, or the transcript is handed to a worker (after the visitor's row is read afresh)."""
    visitor.refresh_from_db(fields=["email"])
    conversation = transcripts.ask_for_transcript(visitor)
    try:
        current_app.send_task("channels_app.chat.tasks.send_asked_transcript", args=[conversation.pk, visitor.pk])
    except Exception as error:  # the broker is unreachable: nothing was sent, so the visitor may ask again
        logger.warning("Asked-for transcript of conversation %s not enqueued: %s", conversation.pk, error)
        transcripts.forget_asking(visitor)
        raise visitors.Refused("We could not send it just now. Please try again in a minute.") from None


class ChatVisitorConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.widget = await _widget(self.scope["url_route"]["kwargs"]["public_id"])
        origin = header(self.scope, b"origin")
        if self.widget is None or not self.widget.allows_origin(origin):
            # Closing before accepting answers the handshake with 403.
            await self.close()
            return
        self.visitor = None
        self.conversation = None
        self.ip_address = (self.scope.get("client") or [None])[0]
        self.groups_joined = set()
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", set()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _join(self, group):
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)

    async def _follow(self, conversation):
        self.conversation = conversation
        if conversation is not None:
            await self._join(conversation_group(conversation.pk))

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self.send_json({"type": "error", "message": "That message is too long."})
            return
        await super().receive(text_data=text_data, **kwargs)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "hello":
            await self._hello(content)
        elif self.visitor is None:
            await self.send_json({"type": "error", "message": "Say hello first."})
        elif kind == "message":
            await self._message(content)
        elif kind == "typing":
            await self._typing(content)
        elif kind == "read":
            up_to = content.get("up_to")
            if isinstance(up_to, int):
                await database_sync_to_async(visitors.mark_read)(self.visitor, up_to)
        elif kind == "contact":
            await self._contact(content)
        elif kind == "transcript":
            await self._transcript()

    async def _hello(self, content):
        if self.visitor is not None:
            return
        page_url = content.get("page_url") if isinstance(content.get("page_url"), str) else ""
        token = content.get("token") if isinstance(content.get("token"), str) else ""
        # A reconnecting widget: the newest item id it shows; it catches up from there.
        after = content.get("after")
        after = after if isinstance(after, int) and not isinstance(after, bool) and 0 <= after < 2**63 else None
        time_zone = content.get("time_zone") if isinstance(content.get("time_zone"), str) else ""
        visitor, token, conversation, history, available = await _start(
            self.widget, token, page_url, header(self.scope, b"user-agent"), self.ip_address, after, time_zone
        )
        self.visitor = visitor
        await self._join(visitors.visitor_group(visitor))
        await self._follow(conversation)
        widget = self.widget
        await self.send_json(
            {
                "type": "ready",
                "token": token,
                "widget": {
                    "name": widget.name,
                    "colour": widget.colour,
                    "greeting": widget.greeting,
                    "offline_message": widget.offline_message,
                    "ask_for_contact": widget.ask_for_contact,
                    "max_chars": settings.CHAT_MESSAGE_MAX_CHARS,
                    "max_attachment_bytes": settings.CHAT_ATTACHMENT_MAX_BYTES,
                },
                "visitor": {"name": visitor.name, "email": visitor.email},
                "online": available.online,
                "history": history,
                "catch_up": after is not None,
            }
        )

    async def _message(self, content):
        client_id = content.get("client_id") if isinstance(content.get("client_id"), str) else ""
        text = content.get("text") if isinstance(content.get("text"), str) else ""
        try:
            item, conversation = await _receive(self.visitor, self.ip_address, client_id, text)
        except visitors.Refused as refused:
            await self.send_json({"type": "error", "client_id": client_id, "message": str(refused)})
            return
        await self._follow(conversation)
        await self.send_json({"type": "ack", "client_id": client_id, "item": item})

    async def _typing(self, content):
        if self.conversation is None or self.conversation.inbox_id is None:
            return
        await self.channel_layer.group_send(
            inbox_group(self.conversation.inbox_id),
            {
                "type": "visitor.typing",
                "conversation_id": self.conversation.pk,
                "typing": bool(content.get("typing", True)),
            },
        )

    async def _contact(self, content):
        name = content.get("name") if isinstance(content.get("name"), str) else ""
        email = content.get("email") if isinstance(content.get("email"), str) else ""
        try:
            await database_sync_to_async(visitors.save_contact)(self.visitor, name, email)
        except visitors.Refused as refused:
            await self.send_json({"type": "error", "message": str(refused)})
            return
        await self.send_json({"type": "contact_saved", "name": self.visitor.name, "email": self.visitor.email})

    async def _transcript(self):
        try:
            await database_sync_to_async(_ask_for_transcript)(self.visitor)
        except visitors.Refused as refused:
            await self.send_json({"type": "error", "message": str(refused)})
            return
        await self.send_json({"type": "transcript_sent", "email": self.visitor.email})

    # Group messages ------------------------------------------------------

    async def agent_message(self, event):
        await self.send_json({"type": "message", "item": event["item"]})

    async def agent_typing(self, event):
        await self.send_json({"type": "typing", "typing": event.get("typing", True)})

    async def agent_seen(self, event):
        seen = await database_sync_to_async(visitors.mark_seen_by_agent)(self.visitor)
        await self.send_json({"type": "seen", "ids": seen})

    async def conversation_changed(self, event):
        pass

    async def visitor_typing(self, event):
        pass

    # Agents' presence on the conversation is for the agents' pages.
    async def presence_changed(self, event):
        pass
