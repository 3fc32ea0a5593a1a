"""``pmfbot demo``: two realistic sample products, run through the whole pipeline offline.

It writes the sample CSVs (so the import formats can be seen), imports them through the real
import code into a fresh SQLite file, computes the gate, and writes every artefact a team
would see in Slack: the charts, the Block Kit JSON of the ``/pmf-check`` reply, the weekly
digest and the survey results. The sample is seeded, so the same day gives the same demo.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bot.demo_ready import CHANNELS_ORGANIC, CHANNELS_PAID, active_respondents, answer_time, generate_ready
from bot.digests.charts import digest_chart
from bot.domain.lessons import survey_lessons
from bot.domain.settings import DEFAULT_ORGANIC_MIN_SHARE, DEFAULT_SURVEY_THRESHOLD
from bot.reports.blocks import gate_report_message
from bot.reports.charts import cohort_heatmap, organic_chart, retention_chart
from bot.surveys.charts import survey_chart
from storage.repositories.reports import survey_responses

SEGMENTS = ("Founder", "Engineer", "Product manager", "Designer", "Marketer")
BENEFITS = (
    "saves me hours every week on reporting",
    "one place for retention and growth numbers",
    "the weekly digest keeps the team honest",
    "saves me hours of spreadsheet work",
    "clear answer on whether to scale",
    "cohort charts without a data team",
    "honest numbers with confidence intervals",
    "one place for the whole team",
)
IMPROVE = ("more integrations", "export to slides", "custom cohorts", "faster import", "daily digest option", "")
HISTORY_WEEKS = 12  # weeks of history.json and trajectory.png
WHO = ("seed-stage founders", "growth leads", "product managers at startups", "solo founders", "")


@dataclass(frozen=True)
class DemoData:
    events: Path
    signups: Path
    responses: Path
    as_of: date
    users: int
    event_rows: int
    response_rows: int


def generate(out: Path, as_of: date, *, weeks: int = 26, seed: int = 7) -> DemoData:
    """Write signups, events and survey responses for a product that has found a plateau,
    grows increasingly organically, and is close to — but not surely over — the 40% line."""
    rng = np.random.default_rng(seed)
    first_monday = as_of - timedelta(days=as_of.weekday() + 7 * weeks)
    out.mkdir(parents=True, exist_ok=True)
    paths = DemoData(events=out / "events.csv", signups=out / "signups.csv", responses=out / "responses.csv",
                     as_of=as_of, users=0, event_rows=0, response_rows=0)
    n_users = n_events = 0
    activity: dict[str, set[int]] = {}
    signup_week: dict[str, int] = {}
    with open(paths.signups, "w", newline="") as fs, open(paths.events, "w", newline="") as fe:
        ws, we = csv.writer(fs), csv.writer(fe)
        ws.writerow(["user_id", "signed_up_at", "channel"])
        we.writerow(["user_id", "occurred_at", "event"])
        for w in range(weeks):
            week_start = datetime.combine(first_monday + timedelta(weeks=w), datetime.min.time(), tzinfo=UTC)
            size = int(rng.normal(150 + 8 * w, 15))
            organic_p = 0.40 + 0.22 * w / weeks  # growth becomes increasingly organic
            for _ in range(size):
                n_users += 1
                uid = f"u{n_users:06d}"
                signup = week_start + timedelta(seconds=int(rng.integers(0, 7 * 86400)))
                r = rng.random()
                if r < 0.04:
                    channel = ""  # untagged: counted as unknown
                elif rng.random() < organic_p:
                    channel = CHANNELS_ORGANIC[int(rng.integers(len(CHANNELS_ORGANIC)))]
                else:
                    channel = CHANNELS_PAID[int(rng.integers(len(CHANNELS_PAID)))]
                ws.writerow([uid, signup.isoformat(), channel])
                signup_week[uid], active = w, activity.setdefault(uid, {w})
                keeper = rng.random() < 0.33  # the users for whom the product is a must-have
                for k in range(0, weeks - w):
                    p = 0.85 if keeper else 0.55 * np.exp(-k / 1.6)
                    if k == 0 or rng.random() < p:
                        base = signup if k == 0 else week_start + timedelta(weeks=k)
                        for _ in range(int(rng.integers(1, 4))):
                            at = base + timedelta(seconds=int(rng.integers(0, 6 * 86400)))
                            if at.date() < as_of:
                                we.writerow([uid, at.isoformat(), "session"])
                                active.add(w + k)
                                n_events += 1
    n_resp = 0
    with open(paths.responses, "w", newline="") as fr:
        wr = csv.writer(fr)
        wr.writerow(["respondent_id", "answered_at", "answer", "segment", "who_benefits", "main_benefit", "improve"])
        seg_very = {"Founder": 0.62, "Engineer": 0.45, "Product manager": 0.40, "Designer": 0.30, "Marketer": 0.25}
        for uid in active_respondents(rng, activity, signup_week, 150, weeks - 1):
            seg = SEGMENTS[int(rng.integers(len(SEGMENTS)))]
            u = rng.random()
            pv = seg_very[seg]
            answer = ("Very disappointed" if u < pv else "Somewhat disappointed" if u < pv + 0.30
                      else "Not disappointed" if u < 0.96 else "N/A — I no longer use Acme")
            at = answer_time(rng, as_of, signup_week[uid], first_monday, 59)
            benefit = BENEFITS[int(rng.integers(len(BENEFITS)))] if answer.startswith("Very") else ""
            wr.writerow([uid, at.isoformat(), answer, seg, WHO[int(rng.integers(len(WHO)))], benefit,
                         IMPROVE[int(rng.integers(len(IMPROVE)))]])
            n_resp += 1
    return dataclasses.replace(paths, users=n_users, event_rows=n_events, response_rows=n_resp)


def _engine_files(factory: Any, slug: str, as_of: date) -> dict[str, bytes | dict[str, Any]]:
    """The PMF engine's files of one product: its history (SPEC §10 JSON), the trajectory chart
    and the survey's lessons."""
    from bot.history.charts import trajectory_chart
    from bot.history.service import cli_history
    from bot.surveys.lessons import cli_lessons

    history = cli_history(factory, product_slug=slug, weeks=HISTORY_WEEKS, as_of=as_of)
    _, day, lessons = cli_lessons(factory, product_slug=slug, as_of=as_of)
    return {"history.json": history.to_json(), "trajectory.png": trajectory_chart(history),
            "lessons.json": {"product": slug, "as_of": day.isoformat()} | lessons.to_json()}


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def run_demo(out: Path, *, echo: Callable[[str], None] = print, as_of: date | None = None) -> dict[str, Path]:
    """Build the sample product in ``out`` and run the whole pipeline; returns the artefacts."""
    from bot.digests import blocks as digest_blocks
    from bot.domain import survey as survey_domain
    from bot.ingest.csv_import import import_csv
    from bot.products import service as product_service
    from bot.render.text import cohorts_json, report_text
    from bot.reports import service as services
    from storage.db import make_engine, make_session_factory
    from storage.migrate import upgrade

    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / "pmf-demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db_path}"
    if as_of is None:
        today = datetime.now(UTC).date()
        as_of = today - timedelta(days=today.weekday())  # the Monday that completes last week

    echo(f"Generating a sample product in {out}/ …")
    data = generate(out / "data", as_of)
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    product_service.create_product(factory, slug="acme", name="Acme")
    for kind, path in (("signups", data.signups), ("events", data.events), ("responses", data.responses)):
        result = import_csv(factory, kind=kind, path=path, product_slug="acme", progress=False)
        echo(f"  {result.summary()}")

    report = services.gate_report(factory, product_slug="acme", as_of=as_of)
    table = report.cohort_table
    assert table is not None
    art: dict[str, Path] = {}

    def save(name: str, payload: bytes | dict[str, Any] | str) -> None:
        path = out / name
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        elif isinstance(payload, str):
            path.write_text(payload + "\n", encoding="utf-8")
        else:
            _write_json(path, payload)
        art[name] = path

    save("report.txt", report_text(report))
    save("report.json", report.to_json())
    save("cohorts.json", cohorts_json(table, "acme", "UTC"))
    save("retention.png", retention_chart(table, report.retention, product_name=report.product_name))
    save("cohorts.png", cohort_heatmap(table, product_name=report.product_name, judged=report.retention.tail_cohorts))
    save("organic.png", organic_chart(report.organic, product_name=report.product_name, as_of=as_of,
                                             min_share=DEFAULT_ORGANIC_MIN_SHARE))
    save("pmf-check.blocks.json", gate_report_message(report, chart_note="Chart of the three signals: digest.png"))

    previous = services.gate_report(factory, product_slug="acme", as_of=as_of - timedelta(days=7))
    save("digest.png", digest_chart(report, previous=previous))
    save("digest.blocks.json", digest_blocks.digest_message(report, previous=previous))

    s = report.survey
    save("survey.png", survey_chart(s.counts, product_name=report.product_name, as_of=as_of, signal=s,
                                   threshold=DEFAULT_SURVEY_THRESHOLD))
    with factory() as session:

        product = product_service.cli_product(session, "acme", None)
        responses = survey_domain.latest_per_respondent(
            survey_responses(session, product.id), as_of, product.settings.survey.window_days)
    save("survey-results.json", {
        "survey": s.to_json(),
        "distribution": {"very": s.counts.very, "somewhat": s.counts.somewhat, "not": s.counts.not_,
                         "na": s.counts.na},
        "segments": [{"segment": g.segment, "responses": g.responses, "very_disappointed": g.very_disappointed,
                      "score": g.score, "ci": list(g.ci) if g.ci else None}
                     for g in survey_domain.segment_scores(responses)],
        "lessons": survey_lessons(responses, anonymous=False).to_json(),
    })
    for name, payload in _engine_files(factory, "acme", as_of).items():
        save(name, payload)

    # The second sample: a product that passes all three signals, in its own folder.
    echo("Generating a second sample product, one with product-market fit …")
    product_service.create_product(factory, slug="beacon", name="Beacon")
    # Beacon's referrals are not rewarded, and its manager said so once (SPEC §5: referrals above
    # 15% of signups are asked about; until answered organic is at most borderline).
    product_service.cli_change_setting(factory, product_slug="beacon", team_id=None,
                                       key="organic.referrals_rewarded", value="no")
    ready = generate_ready(out / "beacon" / "data", as_of)
    for kind, path in (("signups", ready.signups), ("events", ready.events), ("responses", ready.responses)):
        import_csv(factory, kind=kind, path=path, product_slug="beacon", progress=False)
    beacon = services.gate_report(factory, product_slug="beacon", as_of=as_of)
    save("beacon/report.txt", report_text(beacon))
    save("beacon/report.json", beacon.to_json())
    for name, payload in _engine_files(factory, "beacon", as_of).items():
        save(f"beacon/{name}", payload)

    echo("")
    echo(report_text(report))
    echo("")
    echo(report_text(beacon))
    echo("")
    echo(f"Wrote {len(art)} files to {out}/: " + ", ".join(sorted(art)))
    echo(f"Samples: Acme {data.users:,} users, {data.event_rows:,} events, {data.response_rows} survey answers; "
         f"Beacon {ready.users:,} users, {ready.event_rows:,} events, {ready.response_rows} survey answers; "
         f"done in {time.perf_counter() - started:.1f} s.")
    return art
