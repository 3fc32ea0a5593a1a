"""Issue 19: every kind of post goes through the exactly-once layer (``bot.slack.post``), and each
is tested here under the two ambiguous failures: Slack answers 500 after it posted, and Slack
posts but answers after the client gave up (a timeout). Either way the message is in Slack once.

The kinds of post, each named by its message metadata:

| kind | metadata event type | sent by |
|---|---|---|
| survey (parent message) | pmf_survey | ``survey start`` (command, Home tab modal) |
| survey thread intro | pmf_survey_intro | ``survey start``, after the survey |
| survey results | pmf_survey_results | ``survey close``, the clock at the deadline |
| survey reminder in the thread | pmf_survey_reminder | ``survey remind`` |
| survey reminder DM | pmf_survey_reminder_dm | ``survey remind dm`` |
| report shared | pmf_gate_report | ``share`` |
| digest | pmf_digest | ``digest now``, the clock (tests/jobs/test_digest_delivery.py) |
| "survey started" DM | pmf_survey_started_dm | the Home tab's survey modal (post.dm) |
| digest failure notice DM | pmf_digest_notice | the clock (post.dm) |
| error DM | pmf_error | the error handler for Home/modal interactions (post.dm) |

Every DM goes through ``post.dm`` (opens the IM, posts with metadata, reconciles in the DM; where
it cannot look, it does not send again). Chart uploads go through ``post.upload``, which never
retries after an ambiguous failure.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest

from tests.fakes.harness import Harness
from tests.fakes.slack_api import FakeSlack


def _event_type(params: dict[str, Any]) -> str | None:
    meta = params.get("metadata")
    if isinstance(meta, str):
        meta = json.loads(meta)
    return (meta or {}).get("event_type")


def _count(fake: FakeSlack, event_type: str) -> int:
    return sum(1 for msgs in list(fake.messages.values()) for m in msgs
               if (m.get("metadata") or {}).get("event_type") == event_type)


@dataclass(frozen=True)
class Kind:
    event_type: str
    setup: Callable[[Harness, FakeSlack, Any], None]
    act: Callable[[Harness, FakeSlack], None]
    channel: str | None = None  # the post aimed at: only the one to this channel, when set


def _acme(h: Harness, fake: FakeSlack, seed: Any) -> None:
    seed("T1", "acme", "Acme")
    h.ctx.tuning = replace(h.ctx.tuning, count_update_interval=timedelta(0), reminder_dm_pace=0.0)


def _survey(h: Harness, fake: FakeSlack, seed: Any) -> None:
    _acme(h, fake, seed)
    h.pmf("survey start").reply()
    fake.add_user("U3")


def _reminder_dms_done(h: Harness, fake: FakeSlack) -> None:
    h.pmf("survey remind dm").reply()
    fake.wait_for(lambda: not any(t.name.endswith("-reminders") for t in threading.enumerate()),
                  timeout=20, what="the reminder DMs sent")


def _dm_attempts(fake: FakeSlack) -> list[Any]:
    """Posts tried in U1's DM, answered or not (a 500 after posting is a try too)."""
    return [c for c in fake.attempts("chat.postMessage") if c.params.get("channel") == "DU1"]


def _start_from_home(h: Harness, fake: FakeSlack) -> None:
    fake.add_channel("C9", "community")
    h.view_submission("pmf.survey.start_modal", HOME_MODAL, private_metadata=json.dumps({"product": "acme"}))
    fake.wait_for(lambda: _dm_attempts(fake), timeout=20, what="the started DM")


def _error_in_dm(h: Harness, fake: FakeSlack) -> None:
    h.block_action("pmf.home.check", "nope")  # no such product: the error goes to the DM
    fake.wait_for(lambda: _dm_attempts(fake), timeout=20, what="the error DM")


def _digest_notice(h: Harness, fake: FakeSlack) -> None:
    """The clock's DM to a subscriber whose digest failed: the runner calls ``post.dm`` with this
    metadata (bot/digests/runner.py); sent here the same way, with the app's client."""
    from bot.digests.runner import NOTICE_EVENT
    from bot.slack import post

    post.dm(h.app.client, "U1", {"text": "The weekly digest could not be posted."},
            meta=post.metadata(NOTICE_EVENT, delivery_id=1, failures=1))


HOME_MODAL = {
    "pmf.survey.s.channel": {"value": {"type": "conversations_select", "selected_conversation": "C9"}},
    "pmf.survey.s.options": {"value": {"type": "checkboxes", "selected_options": []}},
    "pmf.survey.s.days": {"value": {"type": "number_input", "value": "7"}},
}

KINDS = {
    "survey": Kind("pmf_survey", _acme, lambda h, f: h.pmf("survey start").reply(timeout=20)),
    "survey intro": Kind("pmf_survey_intro", _acme, lambda h, f: h.pmf("survey start").reply(timeout=20)),
    "results": Kind("pmf_survey_results", _survey, lambda h, f: h.pmf("survey close").reply(timeout=20)),
    "reminder": Kind("pmf_survey_reminder", _survey, lambda h, f: h.pmf("survey remind").reply(timeout=20)),
    "reminder DM": Kind("pmf_survey_reminder_dm", _survey, _reminder_dms_done, channel="DU3"),
    "share": Kind("pmf_gate_report", _acme, lambda h, f: h.pmf("share").reply(timeout=20)),
    "digest": Kind("pmf_digest", _acme, lambda h, f: h.pmf("digest now").reply(timeout=30)),
    "survey started DM": Kind("pmf_survey_started_dm", _acme, _start_from_home),
    "error DM": Kind("pmf_error", _acme, _error_in_dm),
    "digest failure notice DM": Kind("pmf_digest_notice", _acme, _digest_notice),
}


@pytest.mark.parametrize("fault", ["500 after posting", "timeout"])
@pytest.mark.parametrize("name", list(KINDS))
def test_each_kind_of_post_is_in_slack_once_after_an_ambiguous_failure(
        harness: Harness, fake_slack: FakeSlack, seed_product: Any, name: str, fault: str) -> None:
    kind = KINDS[name]
    kind.setup(harness, fake_slack, seed_product)
    before = _count(fake_slack, kind.event_type)

    def when(params: dict[str, Any]) -> bool:
        return _event_type(params) == kind.event_type and (kind.channel is None or params.get("channel") == kind.channel)

    if fault == "timeout":
        harness.app.client.timeout = 1  # per-request clients copy it
        fake_slack.delay("chat.postMessage", 2.0, when=when)
    else:
        fake_slack.fail("chat.postMessage", status=500, applied=True, when=when)
    kind.act(harness, fake_slack)
    harness.settle()
    attempts = [c for c in fake_slack.calls if c.method == "chat.postMessage" and when(c.params)]
    assert attempts, "the fault was never reached: the test would prove nothing"
    assert len(attempts) == 1  # found by its metadata: never sent again
    if kind.channel:
        assert sum(1 for m in fake_slack.messages.get(kind.channel, [])
                   if (m.get("metadata") or {}).get("event_type") == kind.event_type) == 1
    else:
        assert _count(fake_slack, kind.event_type) == before + 1
