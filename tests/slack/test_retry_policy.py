"""The Slack retry policy lives in bot/slack/retry.py alone: one edit there changes every client,
post and reply (the copies of it that issue 21 found written in four places would not follow),
and no other module builds slack_sdk's retry handlers or writes a retry number of its own."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.config import Settings
from bot.slack import post, retry
from bot.slack.client import make_client
from bot.slack.respond import Responder
from bot.surveys.slack import _fail_fast
from tests.fakes.slack_api import FakeSlack
from tests.slack.policy_edit import edit_policy

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "bot" / "slack" / "retry.py"
CONN, LIMIT, SERVER = ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, ServerErrorRetryHandler


def counts(handlers: list[Any]) -> dict[type, int]:
    return {type(h): h.max_retry_count for h in handlers}


def every_client() -> dict[str, list[Any]]:
    """The retry handlers of each kind of client the app uses."""
    client = make_client(Settings(), "xoxb-test")
    return {
        "WebClient": client.retry_handlers,
        "post/upload": post.post_client(client).retry_handlers,
        "listener": _fail_fast(client).retry_handlers,
        "response_url": Responder("https://hooks.example/r").client("https://hooks.example/r").retry_handlers,
    }


def test_one_edit_of_call_retries_changes_every_client(monkeypatch: pytest.MonkeyPatch) -> None:
    before = every_client()
    n = retry.CALL_RETRIES
    assert counts(before["WebClient"]) == {CONN: n, LIMIT: n, SERVER: n}
    edit_policy(monkeypatch, CALL_RETRIES=str(n + 2), CALL_BACKOFF_FACTOR=str(retry.CALL_BACKOFF_FACTOR * 3))
    after = every_client()
    assert counts(after["WebClient"]) == {CONN: n + 2, LIMIT: n + 2, SERVER: n + 2}
    # Posts and uploads keep only the 429 retry, listener threads drop it: at the new count.
    assert counts(after["post/upload"]) == {LIMIT: n + 2}
    assert counts(after["listener"]) == {CONN: n + 2, SERVER: n + 2}
    assert counts(after["response_url"]) == {CONN: n + 2, LIMIT: n + 2, SERVER: n + 2}
    for handlers in after.values():
        for h in handlers:
            if not isinstance(h, LIMIT):  # a 429 waits its Retry-After instead
                assert h.interval_calculator.backoff_factor == retry.CALL_BACKOFF_FACTOR


def test_a_post_is_tried_as_the_policy_says_and_reconciled_between_tries(
        monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack) -> None:
    edit_policy(monkeypatch, POST_TRIES="Tries(attempts=4, base_seconds=0.25, factor=3.0)")
    fake_slack.fail("chat.postMessage", error="fatal_error", times=100)  # ambiguous, never posted
    client = make_client(Settings(slack_api_url=fake_slack.api_url), "xoxb-test")
    slept: list[float] = []
    with pytest.raises(post.PostOutcomeUnknown):
        post.post(client, channel_id="C1", message={"text": "hi"}, meta=post.metadata("pmf_test", key="k"),
                  sleep=slept.append)
    assert len(fake_slack.attempts("chat.postMessage")) == 4
    assert len(fake_slack.calls_to("conversations.history")) == 4  # looked for it after each
    assert slept == [0.25, 0.75, 2.25]


def test_retry_after_is_a_floor_on_the_durable_wait_and_the_window_ends_the_attempts() -> None:
    short, long = retry._seconds(30, 60)
    policy = retry.Backoff(waits=(short, long), max_attempts=5, give_up_after=timedelta(hours=1))
    assert (policy.wait(1), policy.wait(2), policy.wait(9)) == (short, long, long)
    assert policy.wait(1, retry_after=short.total_seconds() / 2) == short
    assert policy.wait(1, retry_after=45) == timedelta(seconds=45)
    assert policy.exhausted(5) and not policy.exhausted(4)
    assert not policy.exhausted(1, since_due=timedelta(hours=1) - short)  # the next try is just in time
    assert policy.exhausted(1, since_due=timedelta(hours=1) - short + timedelta(seconds=1))


def test_response_url_tries_fit_in_the_urls_five_uses() -> None:
    assert retry.POST_TRIES.attempts <= 5  # SPEC §11: a response_url takes 5 uses in 30 minutes


# ----------------------------------------------------------------------------- no second copy
def _sources() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for package in ("bot", "handlers")
            for p in sorted((ROOT / package).rglob("*.py"))]


def handler_copies(where: str, tree: ast.Module) -> list[str]:
    """slack_sdk's retry handlers imported, or a client's ``retry_handlers`` not taken from a
    policy (``<policy>.handlers()``)."""
    wrong = []
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(n.startswith("slack_sdk.http_retry") for n in names):
            wrong.append(f"{where}:{node.lineno} imports slack_sdk.http_retry")
        values = [k.value for k in node.keywords if k.arg == "retry_handlers"] if isinstance(node, ast.Call) else []
        if isinstance(node, ast.Assign) and any(getattr(t, "attr", None) == "retry_handlers" for t in node.targets):
            values.append(node.value)
        for v in values:
            if not (isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr == "handlers"):
                wrong.append(f"{where}:{node.lineno} sets retry_handlers to {ast.unparse(v)}")
    return wrong


RETRY_NAME = re.compile(r"retr|backoff|attempt|reconnect|(^|_)tries", re.IGNORECASE)
# Retry numbers that are not about calling Slack.
NOT_SLACK = {("bot/web.py", "RETRY_AFTER_S")}  # the Retry-After our own ingest API sends with a 503


def _number(v: ast.expr) -> bool:
    """A literal retry count or wait: a non-zero number, a tuple of them, timedeltas of them."""
    if isinstance(v, ast.UnaryOp):
        return _number(v.operand)
    if isinstance(v, ast.Constant):
        return isinstance(v.value, int | float) and not isinstance(v.value, bool) and v.value != 0
    if isinstance(v, ast.Tuple | ast.List):
        return bool(v.elts) and all(_number(e) for e in v.elts)
    return any(isinstance(c, ast.Call) and getattr(c.func, "id", getattr(c.func, "attr", None)) == "timedelta"
               for c in ast.walk(v)) and any(isinstance(c, ast.Constant) and _number(c) for c in ast.walk(v))


def _named_values(node: ast.AST) -> list[tuple[str, ast.expr]]:
    if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [(getattr(t, "id", None) or getattr(t, "attr", ""), node.value) for t in targets]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        a = node.args
        positional = a.posonlyargs + a.args
        pairs = list(zip([x.arg for x in positional[len(positional) - len(a.defaults):]], a.defaults, strict=True))
        return pairs + [(x.arg, d) for x, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None]
    if isinstance(node, ast.keyword) and node.arg:
        return [(node.arg, node.value)]
    return []


def number_copies(where: str, tree: ast.Module) -> list[str]:
    """A constant, a default argument or a keyword named like a retry count or wait that holds
    a number, or an exponential backoff computed (``x ** attempt``)."""
    wrong = []
    for node in ast.walk(tree):
        for name, value in _named_values(node):
            if RETRY_NAME.search(name) and _number(value) and (where, name) not in NOT_SLACK:
                wrong.append(f"{where}:{value.lineno} {name} = {ast.unparse(value)}")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and not isinstance(node.right, ast.Constant):
            wrong.append(f"{where}:{node.lineno} computes a backoff: {ast.unparse(node)}")
    return wrong


def outside_the_policy() -> list[tuple[str, ast.Module]]:
    return [(p.relative_to(ROOT).as_posix(), ast.parse(p.read_text(encoding="utf-8")))
            for package in ("bot", "handlers") for p in sorted((ROOT / package).rglob("*.py")) if p != HOME]


def test_only_the_policy_builds_slack_sdk_retry_handlers() -> None:
    assert [w for where, tree in outside_the_policy() for w in handler_copies(where, tree)] == []


def test_no_module_but_the_policy_writes_a_retry_count_or_wait() -> None:
    found = [w for where, tree in outside_the_policy() for w in number_copies(where, tree)]
    assert found == [], "retry counts and waits belong in bot/slack/retry.py"


def test_the_guards_find_the_copies_issue_21_found() -> None:
    copies = ast.parse(
        "from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler\n"
        "MAX_ATTEMPTS = 6\n"
        "RETRY_BACKOFF = tuple(timedelta(seconds=s) for s in (30, 60))\n"
        "def retry_handlers(max_retries: int = 3): ...\n"
        "def post(*, attempts: int = POST_ATTEMPTS): sleep(0.5 * 2 ** attempt)\n"
        "client.retry_handlers = [ServerErrorRetryHandler(max_retry_count=3)]\n"
        "Responder(url, max_retries=3)\n")
    assert len(handler_copies("copy.py", copies)) == 2
    assert sorted(number_copies("copy.py", copies)) == [
        "copy.py:2 MAX_ATTEMPTS = 6", "copy.py:3 RETRY_BACKOFF = tuple((timedelta(seconds=s) for s in (30, 60)))",
        "copy.py:4 max_retries = 3", "copy.py:5 computes a backoff: 2 ** attempt", "copy.py:6 max_retry_count = 3",
        "copy.py:7 max_retries = 3"]
