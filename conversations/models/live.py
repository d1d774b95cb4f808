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
