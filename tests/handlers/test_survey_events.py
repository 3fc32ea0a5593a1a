"""Which ``message`` events the survey listener acts on (``classify``), table-driven: thread
replies, edits and deletions are; top-level messages, bots, link-preview edits and other
subtypes are ignored before any database work."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.events.survey_messages import ThreadReply, classify

PARENT = "1700000001.000001"
REPLY = "1700000005.000002"


def reply(**extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel": "C1", "user": "U2", "text": "1", "ts": REPLY, "thread_ts": PARENT, **extra}


@pytest.mark.parametrize("name, event, expected", [
    ("a reply", reply(), ThreadReply("C1", PARENT, REPLY, "U2", "1", "new", REPLY)),
    ("a reply also sent to the channel", reply(subtype="thread_broadcast"),
     ThreadReply("C1", PARENT, REPLY, "U2", "1", "new", REPLY)),
    ("a reply with a file", reply(subtype="file_share", text="see this"),
     ThreadReply("C1", PARENT, REPLY, "U2", "see this", "new", REPLY)),
    ("a top-level message", {"type": "message", "channel": "C1", "user": "U2", "text": "1", "ts": REPLY}, None),
    ("a thread parent", reply(ts=PARENT), None),
    ("another app's bot", reply(bot_id="B9"), None),
    ("a classic bot message", reply(subtype="bot_message"), None),
    ("someone joining", reply(subtype="channel_join"), None),
    ("an edit", {"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "1700000009.000001",
                 "message": {**reply(text="2"), "edited": {"user": "U2", "ts": "1700000009.000000"}},
                 "previous_message": reply()},
     ThreadReply("C1", PARENT, REPLY, "U2", "2", "edit", "1700000009.000000")),
    ("a link preview added (same text)", {"type": "message", "subtype": "message_changed", "channel": "C1",
                                          "ts": "1700000009.000001", "message": reply(), "previous_message": reply()},
     None),
    ("our own parent message updated", {"type": "message", "subtype": "message_changed", "channel": "C1",
                                        "ts": "1700000009.000001",
                                        "message": {"type": "message", "bot_id": "BBOT", "ts": PARENT,
                                                    "thread_ts": PARENT, "text": "12 responses"},
                                        "previous_message": {"type": "message", "bot_id": "BBOT", "ts": PARENT,
                                                             "text": "11 responses"}}, None),
    ("a deleted reply", {"type": "message", "subtype": "message_deleted", "channel": "C1",
                         "ts": "1700000010.000001", "deleted_ts": REPLY, "previous_message": reply()},
     ThreadReply("C1", PARENT, REPLY, None, "", "delete", "")),
    ("a deleted top-level message", {"type": "message", "subtype": "message_deleted", "channel": "C1",
                                     "ts": "1700000010.000001", "deleted_ts": REPLY,
                                     "previous_message": {"type": "message", "user": "U2", "ts": REPLY}}, None),
])
def test_classify(name: str, event: dict[str, Any], expected: ThreadReply | None) -> None:
    assert classify(event) == expected, name
