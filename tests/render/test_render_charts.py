"""Charts: real PNGs of the promised size, byte-identical for the same input (also across
processes), different for different input, no crash on missing data, and never pyplot. One test
also writes every chart of the fixtures to /tmp/pmf-render-check/ for a human look."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import os
import struct
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from bot.digests.charts import digest_chart
from bot.domain.settings import SurveySettings
from bot.domain.survey import survey_signal
from bot.domain.types import GateReport, SurveyCounts, SurveyResponse
from bot.render.blocks import STATUS_LABEL as STATUS_WORD
from bot.reports.charts import cohort_heatmap, organic_chart, retention_chart
from bot.surveys.charts import survey_chart, survey_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BOT_DIR = Path(__file__).resolve().parents[2] / "bot"
CHART_MODULES = sorted([*BOT_DIR.glob("*/charts.py"), *(BOT_DIR / "render").glob("*.py")])

Chart = Callable[[GateReport], bytes]


def retention(r: GateReport) -> bytes:
    assert r.cohort_table is not None
    return retention_chart(r.cohort_table, r.retention, product_name=r.product_name)


def heatmap(r: GateReport) -> bytes:
    assert r.cohort_table is not None
    return cohort_heatmap(r.cohort_table, product_name=r.product_name)


def organic(r: GateReport) -> bytes:
    return organic_chart(r.organic, product_name=r.product_name, as_of=r.as_of, min_share=0.5)


def survey(r: GateReport) -> bytes:
    s = r.survey
    return survey_chart(s.counts, product_name=r.product_name, as_of=r.as_of, signal=s, threshold=0.40)


def digest(r: GateReport) -> bytes:
    return digest_chart(r)


CHARTS: dict[str, tuple[Chart, tuple[int, int]]] = {
    "retention": (retention, (800, 500)),
    "heatmap": (heatmap, (800, 500)),
    "organic": (organic, (800, 500)),
    "survey": (survey, (800, 500)),
    "digest": (digest, (1200, 800)),
}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", data[16:24])
    return width, height


CASES = {"acme": "report", "newco": "insufficient_report", "empty": "empty_report"}


@pytest.fixture(scope="module")
def rendered(request: pytest.FixtureRequest) -> dict[tuple[str, str], bytes]:
    """Every chart of every case, rendered once for the module."""
    reports = {case: request.getfixturevalue(fixture) for case, fixture in CASES.items()}
    return {(case, name): chart(reports[case]) for case in CASES for name, (chart, _) in CHARTS.items()}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", CHARTS)
def test_chart_is_a_png_of_the_preview_size(name: str, case: str, rendered: dict[tuple[str, str], bytes]) -> None:
    """Also for too little and for no data: a chart that says so, not an exception."""
    data = rendered[case, name]
    assert data.startswith(PNG_SIGNATURE)
    assert png_size(data) == CHARTS[name][1]
    assert b"Software" not in data and b"matplotlib" not in data.lower()


@pytest.mark.parametrize("name", CHARTS)
def test_same_input_gives_the_same_bytes(name: str, report: GateReport, rendered: dict[tuple[str, str], bytes]) -> None:
    chart, _ = CHARTS[name]
    assert chart(report) == rendered["acme", name]


@pytest.mark.parametrize("name", CHARTS)
def test_different_input_gives_different_bytes(name: str, rendered: dict[tuple[str, str], bytes]) -> None:
    assert len({rendered[case, name] for case in CASES}) == len(CASES)


def test_product_name_is_drawn_literally(report: GateReport) -> None:
    # "$" would start matplotlib's mathtext and an odd count would raise.
    odd = dataclasses.replace(report, product_name="Price $5 / $10 $ Co")
    assert retention(odd).startswith(PNG_SIGNATURE)
    assert digest(odd).startswith(PNG_SIGNATURE)


def test_digest_without_cohort_table_or_with_previous(report: GateReport, previous_report: GateReport) -> None:
    without = digest_chart(dataclasses.replace(report, cohort_table=None))
    with_previous = digest_chart(report, previous=previous_report)
    assert png_size(without) == png_size(with_previous) == (1200, 800)
    assert with_previous != digest_chart(report)


def test_survey_without_score_and_with_only_na() -> None:
    counts = SurveyCounts(very=0, somewhat=0, not_=0, na=3)
    signal = survey_signal([], date(2026, 11, 23), SurveySettings())
    data = survey_chart(counts, product_name="Acme", as_of=date(2026, 11, 23), signal=signal)
    assert data.startswith(PNG_SIGNATURE)


def _drawn_texts(fig: Figure) -> str:
    return " ".join(t.get_text() for t in fig.findobj(Text))


def test_the_survey_chart_draws_the_gates_status_not_its_own() -> None:
    """12 answers, 11 very disappointed: the interval alone clears 40%, but the gate needs 40
    answers — the chart must say what the gate says ("not enough data yet"), never "pass"."""
    as_of = date(2026, 11, 23)
    responses = [SurveyResponse(respondent=f"r{i}", answered_at_day=date(2026, 11, 20),
                                answer="very" if i < 11 else "not") for i in range(12)]
    signal = survey_signal(responses, as_of, SurveySettings())
    assert signal.status == "insufficient_data" and signal.ci is not None and signal.ci[0] >= 0.40
    fig = survey_figure(signal.counts, product_name="Acme", as_of=as_of, signal=signal)
    drawn = _drawn_texts(fig)
    assert STATUS_WORD["insufficient_data"] in drawn
    assert STATUS_WORD["pass"] not in drawn


def test_bytes_are_identical_in_a_fresh_process(report: GateReport) -> None:
    code = (
        "import hashlib, sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import conftest as f\nfrom bot.reports.charts import retention_chart\nr = f.make_report()\n"
        "print(hashlib.sha256(retention_chart(r.cohort_table, r.retention,"
        " product_name=r.product_name)).hexdigest())\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(root)],
                         capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == hashlib.sha256(retention(report)).hexdigest()


# --------------------------------------------------------------------------- import rules


def test_render_never_imports_pyplot() -> None:
    code = ("import sys; import bot.render.charts, bot.render.blocks, bot.render.limits; "
            "print('matplotlib.pyplot' in sys.modules)")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "False"


FORBIDDEN_IMPORTS = ("matplotlib.pyplot", "storage", "handlers", "slack_sdk", "slack_bolt", "sqlalchemy",
                     "os", "time", "bot.reports.service", "bot.config")
FORBIDDEN_NAMES = {"pyplot", "WebClient", "open"}  # I/O, Slack, global figures
FORBIDDEN_ATTRS = {"pyplot", "environ", "getenv", "now", "today", "utcnow", "WebClient"}  # env, clock


@pytest.mark.parametrize("path", CHART_MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_render_is_pure_presentation(path: Path) -> None:
    imported: set[str] = set()
    used: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            used.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRS:
            used.add(node.attr)
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported |= {f"{node.module}.{alias.name}" for alias in node.names}
    bad = {m for m in imported for f in FORBIDDEN_IMPORTS if m == f or m.startswith(f + ".")}
    assert not bad, f"{path.name} imports {sorted(bad)}"
    assert not used, f"{path.name} uses {sorted(used)}"


# --------------------------------------------------------------------------- for a human look


def test_render_check_writes_every_chart_for_review(
    report: GateReport, previous_report: GateReport, rendered: dict[tuple[str, str], bytes], tmp_path: Path
) -> None:
    """Writes <case>-<chart>.png into ``PMF_RENDER_CHECK_DIR`` (or a temporary folder); set it and
    open them after a change to the charts."""
    CHECK_DIR = Path(os.environ.get("PMF_RENDER_CHECK_DIR") or tmp_path)
    CHECK_DIR.mkdir(parents=True, exist_ok=True)
    for (case, name), data in rendered.items():
        (CHECK_DIR / f"{case}-{name}.png").write_bytes(data)
    (CHECK_DIR / "acme-digest-vs-last-week.png").write_bytes(digest_chart(report, previous=previous_report))
    assert len(list(CHECK_DIR.glob("*.png"))) >= len(rendered) + 1


def test_the_digest_subtitle_is_a_whole_sentence_drawn_whole(report) -> None:  # type: ignore[no-untyped-def]
    from bot.digests.charts import digest_subtitle
    from bot.render.charts import _DIGEST, DIGEST_SIZE, _figure

    subtitle = digest_subtitle(report)
    assert subtitle.endswith("you don't have it yet")
    fig, _ = _figure(DIGEST_SIZE, "A product with a rather long name indeed", "weekly PMF digest", subtitle, _DIGEST)
    drawn = [t.get_text() for sub in fig.subfigs for t in sub.texts]
    assert subtitle in drawn  # not shortened with "…"
