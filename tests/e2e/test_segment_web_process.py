"""The Segment-compatible API on ``pmfbot web`` for real: gunicorn on loopback, the real Segment and
RudderStack libraries, a 413 and a 401 the libraries can read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import func, select

from bot.products import service as product_service
from bot.products.tokens import create_cli_token
from storage.models import ActivityWeek, ProductUser

ROOT = Path(__file__).resolve().parents[2]


def test_pmfbot_web_takes_segment_and_rudderstack_batches(web_process: str, session_factory) -> None:
    import rudderstack.analytics as rudder_analytics
    from segment.analytics import Client as SegmentClient

    product_service.create_product(session_factory, slug="acme")
    key, _ = create_cli_token(session_factory, team_id=None, product_slug="acme")
    errors: list[object] = []
    at = datetime(2026, 11, 17, 9, tzinfo=UTC)
    segment = SegmentClient(key, host=web_process, on_error=lambda e, b: errors.append(e), max_retries=2)
    rudder = rudder_analytics.Client(key, host=web_process, gzip=True, on_error=lambda e, b: errors.append(e),
                                     max_retries=2)
    for i in range(300):
        client = segment if i % 2 else rudder
        client.identify(user_id=f"u{i}", traits={"createdAt": at.isoformat()}, timestamp=at)
        client.track(user_id=f"u{i}", event="Report Viewed", timestamp=at)
    for client in (segment, rudder):
        client.flush()
        client.join()
    assert errors == []
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProductUser)) == 300
        assert s.scalar(select(func.count()).select_from(ActivityWeek)) == 300

    big = json.dumps({"batch": [{"type": "track", "userId": "x", "properties": {"pad": "x" * 2000}}] * 300})
    r = requests.post(web_process + "/v1/batch", data=big, auth=(key, ""), timeout=10)
    assert r.status_code == 413 and r.json()["success"] is False
    r = requests.post(web_process + "/v1/batch", data=big, auth=("pmfgate_wrong", ""), timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
