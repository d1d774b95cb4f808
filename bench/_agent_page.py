"""The agent's inbox page as the benches drive it without a browser: what static/inbox-live.js sends.

Each fetch of /inbox/changes/ carries the page's cursor and rows (from the swapped poller), the
open timeline's revision and newest item ids, and the head's digest; each answer updates them as
the browser's swap would. So the server does for the bench what it does for a browser page:
only the items and rows the page lacks, not the whole timeline again.
"""

import re

import requests

CURSOR = re.compile(r'data-cursor="([^"]+)"')
SHOWN = re.compile(r'"shown": "([^"]*)"')
TIMELINE = re.compile(r'id="timeline-items"[^>]*data-rev="(\d+)"')
DELTA = re.compile(r'id="timeline-delta"')
HEAD = re.compile(r'id="conversation-head"[^>]*data-head="([0-9a-f]+)"')
ITEM = re.compile(r'id="item-(\d+)"')
KNOWN_IDS = 100  # inbox.timeline.KNOWN_IDS
WAIT = 30  # seconds for one answer


class AgentPage:
    """The agent's inbox page: its cursor, the open conversation, and the changes fetch."""

    def __init__(self, base: str, cookie: str = "", session: requests.Session | None = None):
        self.base = base
        self.session = session or requests.Session()
        if cookie:
            self.session.headers["Cookie"] = cookie
        self.cursor = ""  # none yet: the first answer draws everything, with a cursor
        self._open_id = None
        self.failed = 0  # answers 5xx (e.g. the shared PostgreSQL server had no free connection)
        self.shown = ""
        self._forget_timeline()

    def _forget_timeline(self):
        self.rev, self.known, self.head = "", [], ""

    @property
    def open_id(self):
        return self._open_id

    @open_id.setter
    def open_id(self, value):
        if value != self._open_id:
            self._forget_timeline()  # another conversation opened: the page draws its timeline anew
        self._open_id = value

    def fetch_changes(self, trigger=None) -> str | None:
        """GET /inbox/changes/ from the cursor: the HTML, "" for 204, None for a server error.

        Sends and keeps what static/inbox-live.js does: the cursor and rows of the swapped poller,
        the open timeline's revision and newest item ids, and the head's digest; so the answer is
        the same delta the browser gets (only the items and rows the page lacks)."""
        response = self.session.get(f"{self.base}/inbox/changes/", params=self.params(trigger), timeout=WAIT)
        if response.status_code >= 500:
            self.failed += 1
            return None
        response.raise_for_status()
        if response.status_code == 204:
            return ""
        self._remember(response.text)
        return response.text

    def params(self, trigger=None) -> dict:
        return {
            "since": self.cursor,
            "shown": self.shown,
            "open": self.open_id or "",
            "trigger": trigger or "",
            "rev": self.rev,
            "known": ",".join(self.known[-KNOWN_IDS:]),
            "head": self.head,
        }

    def _remember(self, html: str) -> None:
        for pattern, name in ((CURSOR, "cursor"), (SHOWN, "shown"), (HEAD, "head")):
            found = pattern.search(html)
            if found:
                setattr(self, name, found.group(1))
        timeline = TIMELINE.search(html)
        delta = DELTA.search(html)
        if timeline:  # drawn anew: the page shows exactly these items
            self.rev = timeline.group(1)
            self.known = ITEM.findall(html, timeline.end())
        elif delta:
            self.known += [pk for pk in ITEM.findall(html, delta.end()) if pk not in self.known]
