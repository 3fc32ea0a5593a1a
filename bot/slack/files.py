"""Private charts: an ephemeral message cannot carry a file, and an image block needs a URL
Slack can fetch, so a chart meant for one person is uploaded into their DM with the app. That
keeps it inside Slack's access control (nobody else can open it, no URL of ours to guess or
leak), works the same in HTTP and Socket Mode, and needs only ``im:write`` + ``files:write``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Protocol

from slack_sdk import WebClient


class ChartMemo(Protocol):
    def get(self, key: tuple[str, str, str]) -> str | None: ...

    def put(self, key: tuple[str, str, str], link: str) -> None: ...


class SentCharts:
    """Which chart (by content hash) was already sent to which user, so running ``/pmf-check``
    again links the earlier upload instead of filling the DM with copies. Per process, bounded."""

    def __init__(self, kept: int = 2048) -> None:
        self._links: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        self._lock = threading.Lock()
        self._kept = kept

    def get(self, key: tuple[str, str, str]) -> str | None:
        with self._lock:
            return self._links.get(key)

    def put(self, key: tuple[str, str, str], link: str) -> None:
        with self._lock:
            self._links[key] = link
            while len(self._links) > self._kept:
                self._links.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._links.clear()


def chart_to_dm(client: WebClient, sent: ChartMemo, team_id: str, user_id: str, chart: bytes, *, filename: str,
                title: str, comment: str, what: str) -> str:
    """Upload a private chart into the user's DM with the app; returns a mrkdwn note linking to it
    (``what`` names the chart in that note)."""
    key = (team_id, user_id, hashlib.sha256(chart).hexdigest())
    link = sent.get(key)
    if link is None:
        dm = client.conversations_open(users=user_id)["channel"]["id"]
        upload = client.files_upload_v2(channel=dm, file=chart, filename=filename, title=title,
                                        initial_comment=comment)
        # completeUploadExternal may not return a permalink; Slack's app_redirect opens the DM.
        link = (upload.get("file") or {}).get("permalink") or \
            f"https://slack.com/app_redirect?channel={dm}&team={team_id}"
        sent.put(key, link)
    return f":bar_chart: {what}: <{link}|in your DM with PMF Gate> — only you can see it."
