"""Names of the socket groups, so that the publisher and the consumers agree.

Channel-neutral: the agents' inbox listens on its inboxes' groups; any socket
about one conversation (a chat visitor's) listens on the conversation's group.
"""


def inbox_group(inbox_id: int) -> str:
    return f"inbox.{inbox_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"
