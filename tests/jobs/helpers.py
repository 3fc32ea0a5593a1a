"""Shared set-up for the digest tests: a product with realistic data, subscriptions, and an
AppContext whose Slack clients talk to the fake Web API server (``tests/fakes/slack_api.py``)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.context import AppContext
from bot.domain.weeks import week_of_date, week_start
from bot.products import service as product_service
from bot.slack.client import make_client
from storage.db import unit_of_work
from storage.models import ActivityWeek, DigestSubscription, Product, ProductUser, Workspace
from storage.repositories.products import ProductRef, product_ref

TEAM = "T1"
TOKEN = "xoxb-test-token"
SECRET = "test-secret-key-0123456789"


def make_product(factory: sessionmaker[Session], *, slug: str = "acme", name: str = "Acme", team_id: str = TEAM,
                 users: int = 300, through: date = date(2026, 3, 22), weeks: int = 16, seed: int = 7) -> int:
    """A product whose users sign up over ``weeks`` weeks ending with the week of ``through``
    and stay active with a retention curve flattening near 30%. Returns the product id."""
    ref = product_service.create_product(factory, slug=slug, name=name, team_id=team_id)
    rng = random.Random(seed)
    last = week_of_date(through)
    first = last - weeks + 1
    with unit_of_work(factory) as s:
        user_rows = []
        for i in range(users):
            w = first + (i * weeks) // users
            ch = "organic" if rng.random() < 0.65 else "cpc"
            at = datetime.combine(week_start(w) + timedelta(days=i % 7), time(12), tzinfo=UTC)
            user_rows.append({"product_id": ref.id, "external_id": f"u{i}", "signup_week": w, "signed_up_at": at,
                              "channel": ch, "channel_class": "organic" if ch == "organic" else "paid",
                              "first_week": w, "cohort_week": w})
        s.execute(insert(ProductUser), user_rows)
        ids = {ext: uid for ext, uid in s.execute(select(ProductUser.external_id, ProductUser.id)
                                                  .where(ProductUser.product_id == ref.id))}
        act = []
        for row in user_rows:
            uid, w = ids[row["external_id"]], row["signup_week"]
            row_of = {"user_id": uid, "product_id": ref.id, "cohort_week": w}
            act.append({**row_of, "week": w})
            for k in range(1, last - w + 1):
                if rng.random() < 0.3 + 0.5 * 0.6 ** k:
                    act.append({**row_of, "week": w + k})
        s.execute(insert(ActivityWeek), act)
    return ref.id


def subscribe(factory: sessionmaker[Session], *, product_id: int, channel_id: str, weekday: int = 0,
              local_time: str = "09:00", tz: str = "Europe/Berlin", created_by: str | None = "UCREATOR",
              effective_from: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> int:
    with unit_of_work(factory) as s:
        p = s.get(Product, product_id)
        assert p is not None
        sub = DigestSubscription(workspace_id=p.workspace_id, product_id=product_id, channel_id=channel_id,
                                 weekday=weekday, local_time=local_time, timezone=tz, created_by=created_by,
                                 active=True, consecutive_failures=0, error_notified=False,
                                 created_at=effective_from, effective_from=effective_from)
        s.add(sub)
        s.flush()
        return sub.id


def settings_for(db_url: str, api_url: str) -> Settings:
    return Settings(database_url=db_url, slack_bot_token=TOKEN, slack_signing_secret="signing-secret",
                    slack_api_url=api_url, secret_key=SECRET)


def make_ctx(factory: sessionmaker[Session], api_url: str, *, timeout: int = 15, db_url: str = "sqlite://",
             now: Any = None) -> AppContext:
    settings = settings_for(db_url, api_url)
    ctx = AppContext(settings=settings, factory=factory,
                     client_for_team=lambda team_id: make_client(settings, TOKEN, timeout=timeout),
                     secret_key=SECRET)
    if now is not None:
        ctx.now = now
    return ctx


def workspace_id(factory: sessionmaker[Session], team_id: str = TEAM) -> int:
    with unit_of_work(factory) as s:
        ws = s.scalar(select(Workspace).where(Workspace.team_id == team_id))
        assert ws is not None
        return ws.id


def tiny_png(_content: Any) -> bytes:
    """A stand-in chart renderer: the real one is tested by the render suite and once here."""
    return b"\x89PNG\r\n\x1a\n" + b"0" * 64


def product_ref_of(factory: sessionmaker[Session], pid: int) -> ProductRef:
    """The ``ProductRef`` of product ``pid`` (with its workspace's team id)."""
    with unit_of_work(factory) as s:
        p = s.get(Product, pid)
        assert p is not None
        ws = s.get(Workspace, p.workspace_id)
        assert ws is not None
        return product_ref(p, ws.team_id)
