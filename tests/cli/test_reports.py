"""`pmfbot product create`, `check` and `cohorts` through the real CLI, against the test DB."""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

AS_OF = date(2026, 11, 23)  # a Monday: the week of Nov 16 is the last complete one




def _write_events(path: Path, seed: int = 3) -> list[tuple[str, datetime]]:
    rng = random.Random(seed)
    rows = []
    start = datetime(2026, 8, 3, tzinfo=UTC)  # a Monday, 16 weeks before AS_OF
    for i in range(400):
        first = start + timedelta(days=rng.randrange(0, 16 * 7), seconds=rng.randrange(86400))
        rows.append((f"user{i}", first))
        t = first
        while True:
            t += timedelta(days=rng.choice([1, 3, 6, 9, 20]), seconds=rng.randrange(86400))
            if t.date() > AS_OF + timedelta(days=3) or rng.random() < 0.15:
                break
            rows.append((f"user{i}", t))
    rng.shuffle(rows)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "occurred_at", "event"])
        w.writerows([(u, t.isoformat(), "open") for u, t in rows])
    return rows


def _independent_cohorts(rows: list[tuple[str, datetime]]) -> dict[str, list[int]]:
    """Straight from the definition: cohort = Monday of the first event (no signups here),
    active[k] = members with an event in week cohort+k, complete weeks only."""
    def monday(d: date) -> date:
        return d - timedelta(days=d.weekday())

    last_complete = monday(AS_OF) - timedelta(days=7)
    weeks_by_user: dict[str, set[date]] = defaultdict(set)
    for u, t in rows:
        weeks_by_user[u].add(monday(t.date()))
    members: dict[date, list[set[date]]] = defaultdict(list)
    for weeks in weeks_by_user.values():
        members[min(weeks)].append(weeks)
    out = {}
    for cw, users in sorted(members.items()):
        if cw > last_complete:
            continue
        n_offsets = (last_complete - cw).days // 7 + 1
        out[cw.isoformat()] = [sum(1 for w in users if cw + timedelta(weeks=k) in w) for k in range(n_offsets)]
    return out


def test_product_create_then_list(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("product", "create", "acme", "--name", "Acme Inc")
    assert code == 0 and "acme" in out
    code, out, _ = run("product", "list")
    assert "acme\tAcme Inc" in out


@pytest.mark.parametrize("slug", ["Bad Slug", "x_y", "a" * 65, "ünï"])
def test_product_create_rejects_bad_slugs(run, slug: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("product", "create", slug)
    assert code == 2 and "slug" in err


def test_product_create_twice_is_an_error(run) -> None:  # type: ignore[no-untyped-def]
    assert run("product", "create", "acme")[0] == 0
    code, _, err = run("product", "create", "acme")
    assert code == 2 and "already exists" in err


def test_cohorts_json_matches_an_independent_computation(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = _write_events(tmp_path / "events.csv")
    assert run("product", "create", "acme")[0] == 0
    code, _, err = run("import", "events", str(tmp_path / "events.csv"), "--product", "acme")
    assert code == 0, err
    code, out, err = run("cohorts", "--product", "acme", "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"product", "as_of", "week_starts_on", "timezone", "cohorts", "average"}
    assert (data["product"], data["as_of"], data["week_starts_on"], data["timezone"]) == (
        "acme", "2026-11-23", "monday", "UTC")
    got = {c["week"]: c["active"] for c in data["cohorts"]}
    expected = _independent_cohorts(rows)
    assert got == expected
    assert all(c["size"] == c["active"][0] for c in data["cohorts"])  # week 0 is 100%
    # The average at offset k is size-weighted over cohorts whose week k is complete.
    for point in data["average"]:
        k = point["week_offset"]
        eligible = [(c["size"], c["active"][k]) for c in data["cohorts"] if len(c["active"]) > k]
        assert point["users"] == sum(s for s, _ in eligible)
        assert point["cohorts"] == len(eligible)
        assert point["retention"] == pytest.approx(sum(a for _, a in eligible) / point["users"], abs=1e-4)


def test_check_json_has_exactly_the_contract_keys(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _write_events(tmp_path / "events.csv")
    run("product", "create", "acme")
    run("import", "events", str(tmp_path / "events.csv"), "--product", "acme")
    code, out, err = run("check", "--product", "acme", "--as-of", AS_OF.isoformat(), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"product", "as_of", "verdict", "signals", "warnings", "next_steps"} <= set(data)
    assert data["verdict"] in ("ready", "not_ready", "unclear")
    spec = {
        "retention": {"status", "plateau_level", "tail_slope", "tail_slope_ci", "weeks_observed", "summary"},
        "organic": {"status", "organic_share", "trend_per_week", "trend_ci", "signups", "unknown_share", "summary"},
        "survey": {"status", "responses", "very_disappointed", "score", "ci", "not_applicable",
                   "more_responses_needed", "summary"},
    }
    for name, keys in spec.items():
        assert keys <= set(data["signals"][name]), name
        assert data["signals"][name]["status"] in ("pass", "borderline", "fail", "insufficient_data")
    # No signups and no survey: thin evidence reads "not yet", never "ready".
    assert data["signals"]["survey"]["status"] == "insufficient_data"
    assert data["verdict"] != "ready"


def test_check_text_names_the_verdict(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("product", "create", "acme")
    code, out, _ = run("check", "--product", "acme", "--as-of", AS_OF.isoformat())
    assert code == 0
    assert "Verdict: Not sure yet, so not yet" in out or "Verdict: Not ready to scale" in out


@pytest.mark.parametrize("args, needle", [
    (("check", "--product", "nope"), "No product 'nope'"),
    (("check", "--product", "acme", "--as-of", "2026-13-01"), "--as-of must be a date"),
    (("cohorts", "--product", "acme", "--as-of", "yesterday"), "--as-of must be a date"),
    (("cohorts", "--product", "nope", "--json"), "No product 'nope'"),
])
def test_bad_report_arguments_exit_2_with_a_message(run, args: tuple[str, ...], needle: str) -> None:  # type: ignore[no-untyped-def]
    run("product", "create", "acme")
    code, out, err = run(*args)
    assert code == 2
    assert needle in err
    assert out == ""


def test_settings_never_print_their_secrets() -> None:
    from bot.config import Settings

    settings = Settings(slack_bot_token="xoxb-very-secret", slack_signing_secret="sign-secret",
                        slack_client_secret="client-secret", slack_app_token="xapp-secret", secret_key="key-secret")
    shown = repr(settings)
    for secret in ("xoxb-very-secret", "sign-secret", "client-secret", "xapp-secret", "key-secret"):
        assert secret not in shown
    assert "database_url" in shown
