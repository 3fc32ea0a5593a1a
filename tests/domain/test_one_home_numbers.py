"""Each number the gate decides with is written once (issue 21 "one fact, one place"): the
confidence levels in bot/domain/confidence.py, the settings' defaults in bot/domain/settings.py.
The modules that use them import the names (the same objects), and no other module writes the
values again: these tests fail when one is copied."""

from __future__ import annotations

import ast
import dataclasses
import inspect

import pytest
from scipy import stats

from bot.digests.charts import digest_chart
from bot.domain import confidence, organic, retention_boot, segments, survey
from bot.domain.settings import (
    DEFAULT_ORGANIC_MIN_SHARE,
    DEFAULT_ORGANIC_WINDOW_WEEKS,
    DEFAULT_SURVEY_THRESHOLD,
    OrganicSettings,
    RetentionSettings,
    SurveySettings,
)
from bot.history.values import History
from bot.render import blocks
from bot.reports.charts import organic_chart
from bot.surveys.charts import survey_chart, survey_figure
from tests.literals import constants, modules_with_number, trees

CONFIDENCE = "bot/domain/confidence.py"
SETTINGS = "bot/domain/settings.py"


# --------------------------------------------------------------------------- confidence levels


def test_the_modules_that_decide_read_the_levels_of_the_one_home() -> None:
    pairs = {
        "survey.Z95": (survey.Z95, confidence.Z_SHARE_CI),
        "survey.PASS_Z": (survey.PASS_Z, confidence.SURVEY_PASS_Z),
        "SurveySettings.pass_z": (SurveySettings().pass_z, confidence.SURVEY_PASS_Z),
        "organic.Z_ONE_SIDED_95": (organic.Z_ONE_SIDED_95, confidence.ORGANIC_PASS_Z),
        "organic.TREND_CONFIDENCE": (organic.TREND_CONFIDENCE, confidence.TREND_CI),
        "organic.FALLING_CONFIDENCE": (organic.FALLING_CONFIDENCE, confidence.ORGANIC_FALLING),
        "organic.SHRINK_P": (organic.SHRINK_P, confidence.ORGANIC_SHRINKING_P),
        "segments.FAMILY_ALPHA": (segments.FAMILY_ALPHA, confidence.SEGMENT_FAMILY_ALPHA),
        "retention_boot.DRIFT_PERCENTILE": (retention_boot.DRIFT_PERCENTILE, confidence.RETENTION_DRIFT_PCT),
        "retention_boot.BOUND_PERCENTILES": (retention_boot.BOUND_PERCENTILES[1], confidence.RETENTION_BOUND_PCT),
    }
    # The same objects, not equal copies: a float written again is a new object.
    assert [name for name, (used, home) in pairs.items() if used is not home] == []
    assert retention_boot.RISE_PERCENTILE == confidence.lower_percentile(confidence.RETENTION_RISING_PCT) == 2.0
    assert retention_boot.BOUND_PERCENTILES == (5.0, 95.0)


@pytest.mark.parametrize("value", [confidence.Z_SHARE_CI, confidence.ORGANIC_PASS_Z, confidence.SURVEY_PASS_Z,
                                   confidence.RETENTION_RISING_PCT])
def test_a_distinctive_level_is_written_in_one_module(value: float) -> None:
    assert modules_with_number(value) == {CONFIDENCE}


def test_no_quantile_or_percentile_in_the_domain_takes_a_written_level() -> None:
    """np.percentile(x, 95.0), stats.t.ppf(0.99, dof), NormalDist().inv_cdf(0.975): each level
    must come from bot/domain/confidence.py by name."""
    found = []
    for path, tree in trees().items():
        if not path.startswith("bot/domain/") or path == CONFIDENCE:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in ("percentile", "quantile", "ppf", "isf", "inv_cdf"):
                for arg in node.args:
                    items = arg.elts if isinstance(arg, ast.List | ast.Tuple) else [arg]
                    found += [f"{path}:{node.lineno}" for item in items if isinstance(item, ast.Constant)]
    assert found == []


def test_each_z_is_the_quantile_of_its_level() -> None:
    assert confidence.Z_SHARE_CI == pytest.approx(stats.norm.ppf(0.5 + confidence.SHARE_CI / 2), rel=1e-12)
    assert confidence.ORGANIC_PASS_Z == pytest.approx(stats.norm.ppf(confidence.ORGANIC_PASS), rel=1e-12)


def test_the_interval_labels_follow_the_levels() -> None:
    assert (blocks.SHARE_CI_LEVEL, blocks.SCORE_CI_LEVEL) == (round(100 * confidence.SHARE_CI),) * 2
    assert (blocks.PLATEAU_CI_LEVEL, blocks.SLOPE_CI_LEVEL) == (
        round(confidence.two_sided_pct(confidence.RETENTION_BOUND_PCT)),) * 2
    assert blocks.TREND_CI_LEVEL == round(100 * confidence.TREND_CI)
    # ... and are computed there, never written as numbers.
    tree = trees()["bot/render/blocks.py"]
    written = [t.id for node in ast.walk(tree) if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
               for t in node.targets if isinstance(t, ast.Name) and t.id.endswith("_CI_LEVEL")]
    assert written == []
    assert f"{blocks.SHARE_CI_LEVEL}% for shares" in blocks.STATUS_FOOTER


# --------------------------------------------------------------------------- settings' defaults


def test_the_defaults_other_modules_need_are_the_settings_own() -> None:
    assert SurveySettings().threshold is DEFAULT_SURVEY_THRESHOLD
    assert OrganicSettings().min_share is DEFAULT_ORGANIC_MIN_SHARE
    assert OrganicSettings().window_weeks is DEFAULT_ORGANIC_WINDOW_WEEKS
    defaults = {name: p.default for f in (digest_chart, survey_chart, survey_figure, organic_chart)
                for name, p in inspect.signature(f).parameters.items() if p.default is not inspect.Parameter.empty}
    assert defaults["threshold"] is DEFAULT_SURVEY_THRESHOLD
    assert defaults["min_share"] is DEFAULT_ORGANIC_MIN_SHARE
    assert defaults["window_weeks"] is DEFAULT_ORGANIC_WINDOW_WEEKS
    history = History(product="p", product_name="P", weeks=())
    assert history.threshold is DEFAULT_SURVEY_THRESHOLD and history.min_share is DEFAULT_ORGANIC_MIN_SHARE


def _setting_names() -> set[str]:
    return {f.name for group in (RetentionSettings, OrganicSettings, SurveySettings) for f in dataclasses.fields(group)
            if isinstance(getattr(group(), f.name), int | float)}


def _written_settings(tree: ast.Module, names: set[str]) -> list[str]:
    """Parameters, fields and keyword arguments named like a setting that are given a number."""
    def number(node: ast.expr | None) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool)

    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            positional = a.posonlyargs + a.args
            given = list(zip(positional[len(positional) - len(a.defaults):], a.defaults, strict=True))
            given += [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None]
            out += [f"{node.lineno} {arg.arg}" for arg, d in given if arg.arg in names and number(d)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.target.id in names and number(node.value):
                out.append(f"{node.lineno} {node.target.id}")
        elif isinstance(node, ast.Call):
            out += [f"{node.lineno} {k.arg}" for k in node.keywords if k.arg in names and number(k.value)]
    return out


def test_no_module_but_settings_writes_a_default_of_a_setting_again() -> None:
    names = _setting_names()
    assert {"threshold", "min_share", "window_weeks", "drift_ratio", "min_responses"} <= names
    found = {path: hits for path, tree in trees().items() if path != SETTINGS
             if (hits := _written_settings(tree, names))}
    assert found == {}


def test_the_checker_finds_a_written_default() -> None:
    tree = ast.parse("def chart(x, *, threshold: float = 0.40): ...\n"
                     "@dataclass\nclass H:\n    min_share: float = 0.5\n"
                     "draw(min_share=0.5, title='t')\n")
    assert _written_settings(tree, _setting_names()) == ["1 threshold", "4 min_share", "5 min_share"]


def test_the_helper_leaves_docstrings_out() -> None:
    tree = ast.parse('"""Bar 0.4: e.g. survey.threshold 0.4."""\nX = 0.4\n')
    assert [c.value for c in constants(tree)] == [0.4]
