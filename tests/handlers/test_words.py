"""Words (issue 21, item 12), through the real Bolt app: plurals, one icon on a refusal, "40%"
accepted for a share, the token's example ready to copy."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.domain.settings import ProductSettings
from bot.render.blocks import HEADLINE
from storage.models import Product
from tests.fakes.slack_api import text_of

MEMBER = "UMEMBER"


def test_one_token_is_one_ingest_token(harness, seed_product):  # type: ignore[no-untyped-def]
    seed_product("T1", "acme", "Acme", data=False)
    harness.pmf("token acme").reply()
    listed = harness.pmf("token list").reply()
    assert listed["text"].startswith("1 ingest token") and "1 ingest tokens" not in text_of(listed)


def test_the_token_reply_uses_its_product_and_the_full_url(harness, seed_product):  # type: ignore[no-untyped-def]
    seed_product("T1", "acme", "Acme", data=False)
    reply = text_of(harness.pmf("token acme").reply())
    assert f"`POST {harness.url}/api/v1/ingest`" in reply
    assert '{"product": "acme", "events"' in reply and '"SLUG"' not in reply


def test_a_share_setting_accepts_a_percentage(harness, seed_product, session_factory):  # type: ignore[no-untyped-def]
    seed_product("T1", "acme", "Acme", data=False)
    reply = text_of(harness.pmf("config survey.threshold 40%").reply())
    assert "Changed" in reply
    reply = text_of(harness.pmf("config survey.threshold 35%").reply())
    with session_factory() as s:
        stored = s.scalar(select(Product.settings))
    assert "Changed" in reply and ProductSettings.from_dict(stored).survey.threshold == 0.35


def test_a_refusal_carries_one_icon(harness, fake_slack, seed_product):  # type: ignore[no-untyped-def]
    fake_slack.add_user(MEMBER)
    seed_product("T1", "acme", "Acme", data=False)
    reply = harness.pmf("config survey.threshold 0.3", user=MEMBER).reply()
    first = reply["blocks"][0]["text"]["text"]
    assert first.startswith(":lock: Only") and len(re.findall(r":[a-z_]+:", first)) == 1


def test_no_headline_says_surely() -> None:
    assert not any("surely" in words for signal in HEADLINE.values() for words in signal.values())
