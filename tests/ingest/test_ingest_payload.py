"""``bot.ingest.csv_import.ingest_payload``: the HTTP API's JSON through the same parsers and bulk writer."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from ingest_helpers import Factory, activity, snapshot, users
from sqlalchemy import select

from bot.domain.weeks import week_of_date
from bot.ingest.formats import MAX_PAYLOAD_ITEMS, PayloadError, PayloadTooLarge
from bot.ingest.payload import ingest_payload
from storage.models import Workspace

W = week_of_date(date(2026, 3, 2))


def _ws(factory: Factory) -> int:
    with factory() as s:
        return s.scalars(select(Workspace.id)).one()


def test_a_valid_payload_is_written_and_counted(session_factory: Factory, product: str) -> None:
    payload: dict[str, Any] = {
        "product": "acme",
        "events": [{"user_id": "u1", "occurred_at": "2026-03-02T10:00:00Z", "event": "login"},
                   {"user_id": "u1", "occurred_at": "2026-03-03T10:00:00Z"},
                   {"user_id": 42, "occurred_at": "2026-03-09"}],
        "signups": [{"user_id": "u1", "signed_up_at": "2026-03-01T09:00:00-05:00", "channel": "seo"},
                    {"user_id": "u3", "signed_up_at": "2026-03-02", "utm_source": "google", "utm_medium": "cpc"}],
    }
    out = ingest_payload(session_factory, workspace_id=_ws(session_factory), payload=payload)
    assert out["product"] == "acme"
    assert out["events"] == {"received": 3, "inserted": 2, "new_users": 1}  # u1 exists already from its signup
    assert out["signups"] == {"received": 2, "inserted": 2, "updated": 0}
    u = users(session_factory)
    assert (u["u1"]["signup_week"], u["u1"]["channel_class"]) == (W - 1, "organic")  # Sunday 14:00 UTC
    assert u["u3"]["channel"] == "google / cpc" and u["u3"]["channel_class"] == "paid"
    assert activity(session_factory) == {("u1", W - 1), ("u1", W), ("42", W + 1), ("u3", W)}
    again = ingest_payload(session_factory, workspace_id=_ws(session_factory), payload=payload)
    assert again["events"]["inserted"] == 0 and again["signups"] == {"received": 2, "inserted": 0, "updated": 0}


def test_every_invalid_item_is_reported_and_nothing_is_written(session_factory: Factory, product: str) -> None:
    payload = {
        "product": "acme",
        "events": [{"user_id": "u1", "occurred_at": "2026-03-02"},
                   {"user_id": "", "occurred_at": "2026-03-02"},
                   {"user_id": "u3", "occurred_at": "tomorrow"},
                   {"user_id": "u4"},
                   "not an object",
                   {"user_id": ["x"], "occurred_at": "2026-03-02"}],
        "signups": [{"user_id": "s1", "signed_up_at": "2026-02-30", "channel": "seo"}],
    }
    with pytest.raises(PayloadError) as err:
        ingest_payload(session_factory, workspace_id=_ws(session_factory), payload=payload)
    paths = [e["path"] for e in err.value.errors]
    assert paths == ["events[1].user_id", "events[2].occurred_at", "events[3].occurred_at", "events[4]",
                     "events[5].user_id", "signups[0].signed_up_at"]
    assert "not an ISO 8601 timestamp" in err.value.errors[1]["message"]
    assert snapshot(session_factory)["product_users"] == []


def test_unknown_product_and_bad_shapes(session_factory: Factory, product: str) -> None:
    ws = _ws(session_factory)
    with pytest.raises(PayloadError) as err:
        ingest_payload(session_factory, workspace_id=ws, payload={"product": "nope", "events": []})
    assert err.value.errors[0]["path"] == "product" and "nope" in err.value.errors[0]["message"]
    with pytest.raises(PayloadError) as err:
        ingest_payload(session_factory, workspace_id=ws, payload={"events": {}, "extra": 1})
    assert {e["path"] for e in err.value.errors} == {"product", "events", "extra"}
    with pytest.raises(PayloadError):
        ingest_payload(session_factory, workspace_id=ws, payload=[])  # type: ignore[arg-type]


def test_too_many_items(session_factory: Factory, product: str) -> None:
    item = {"user_id": "u", "occurred_at": "2026-03-02"}
    payload = {"product": "acme", "events": [item] * (MAX_PAYLOAD_ITEMS - 1), "signups": [
        {"user_id": "u", "signed_up_at": "2026-03-02", "channel": "seo"}] * 2}
    with pytest.raises(PayloadTooLarge):
        ingest_payload(session_factory, workspace_id=_ws(session_factory), payload=payload)
    assert snapshot(session_factory)["product_users"] == []
    payload["signups"] = payload["signups"][:1]
    out = ingest_payload(session_factory, workspace_id=_ws(session_factory), payload=payload)
    assert out["events"]["received"] == MAX_PAYLOAD_ITEMS - 1


def test_a_workspace_only_sees_its_own_products(session_factory: Factory, product: str) -> None:
    from bot.products import service as product_service

    other = product_service.create_product(session_factory, slug="beta", team_id="T2")
    with pytest.raises(PayloadError) as err:
        ingest_payload(session_factory, workspace_id=other.workspace_id, payload={"product": "acme", "events": []})
    assert err.value.errors[0]["path"] == "product"


def test_a_signup_email_is_kept_only_as_its_keyed_hash(session_factory: Factory, product: str) -> None:
    from bot.domain.matching import email_hash
    from storage.models import ProductUser

    secret = "payload-secret-0123456789"
    payload: dict[str, Any] = {"product": "acme", "signups": [
        {"user_id": "u1", "signed_up_at": "2026-03-02", "channel": "seo", "email": " Ann@Example.com"},
        {"user_id": "u2", "signed_up_at": "2026-03-02", "utm_source": "google", "utm_medium": "cpc",
         "email": "bo@example.com"},
        {"user_id": "u3", "signed_up_at": "2026-03-02", "channel": "seo"}]}
    with pytest.raises(PayloadError) as err:
        ingest_payload(session_factory, workspace_id=_ws(session_factory), payload=payload)  # no secret
    assert "PMFBOT_SECRET_KEY" in str(err.value.errors)
    ingest_payload(session_factory, workspace_id=_ws(session_factory), payload=payload, secret=secret)
    with session_factory() as s:
        rows = dict(s.execute(select(ProductUser.external_id, ProductUser.email_hash)).all())
        pid = s.scalars(select(ProductUser.product_id)).first()
    assert pid is not None
    assert rows == {"u1": email_hash(secret, pid, "ann@example.com"), "u2": email_hash(secret, pid, "bo@example.com"),
                    "u3": None}
    assert "example.com" not in str(snapshot(session_factory))


def test_signups_with_a_click_id_in_the_landing_url_or_referrer_are_paid(session_factory: Factory,
                                                                       product: str) -> None:
    payload: dict[str, Any] = {"product": "acme", "signups": [
        {"user_id": "a", "signed_up_at": "2026-03-02", "landing_url": "https://acme.io/?gclid=Cj0KCQ"},
        {"user_id": "b", "signed_up_at": "2026-03-02", "channel": "seo", "referrer": "https://x.io/?msclkid=1"},
        {"user_id": "c", "signed_up_at": "2026-03-02", "utm_source": "podcast", "landing_url": "https://acme.io/"},
    ]}
    ingest_payload(session_factory, workspace_id=_ws(session_factory), payload=payload)
    u = users(session_factory)
    assert (u["a"]["channel_class"], u["a"]["channel_key"]) == ("paid", "click:gclid")
    assert (u["b"]["channel_class"], u["b"]["channel_key"]) == ("paid", "click:msclkid")
    assert (u["c"]["channel_class"], u["c"]["channel_key"]) == ("unknown", "podcast")
    # Sent again without the click id, the signup is reclassified: nothing stale is kept.
    payload["signups"] = [{"user_id": "a", "signed_up_at": "2026-03-02", "channel": "seo"}]
    assert ingest_payload(session_factory, workspace_id=_ws(session_factory), payload=payload)["signups"]["updated"] == 1
    assert (users(session_factory)["a"]["channel_class"], users(session_factory)["a"]["channel_key"]) == ("organic", None)
