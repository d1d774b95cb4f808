"""Live events for the sockets (the embedded default's channel layer)."""

from django.db import models


class LiveEvent(models.Model):
    """A message for a group of sockets, written by any process, relayed by each web process.

    Only used by the embedded default (no Redis): the web process and the
    Celery worker are separate processes, so a worker's event reaches the
    sockets through this table. Rows are read in increasing id and deleted
    after a minute.
    """

    group = models.CharField(max_length=100)
    message = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return f"{self.group}: {self.message.get('type', '')}"


class ChangeCounter(models.Model):
    """The one row whose value numbers conversation changes in commit order (see `conversations.models.change_feed`).

    A stamping transaction locks this row, takes the next numbers and stamps
    the changed conversations; the lock is held until it commits, so a higher
    number is always committed after every lower one.
    """

    value = models.BigIntegerField(default=0)

    def __str__(self):
        return f"Change counter at {self.value}"
