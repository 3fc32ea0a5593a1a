"""Use cases behind the Slack surfaces (``/pmf-check``, App Home, lifecycle events, the ingest
API): each opens its own unit of work, scopes every lookup to the requesting team's workspace,
and returns plain values for the listeners to render. No Slack imports here.

Reports are cached per process: the key is the product, the day, its settings and a
fingerprint of its data (row counts and high-water marks), so twenty people running
``/pmf-check`` at once compute it — and draw its chart — once (single flight), with at most
``MAX_PARALLEL_REPORTS`` computations running per process so the CPU-bound statistics and
matplotlib never starve the threads that ack Slack. The fingerprint itself (a few aggregate
queries) is reused for ``FINGERPRINT_TTL`` seconds, so a burst of commands costs one set of
queries; new data shows in a report at most that many seconds after its import committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.digests.schedule import every
from bot.domain.lessons import Lessons
from bot.domain.types import GateReport
from bot.ingest.source_status import workspace_source_lines
from bot.products.managers import custom_rules_in
from bot.products.service import slack_workspace
from bot.reports.cache import ReportCache
from bot.reports.service import fetch_report, list_products, pending_report, today_in
from bot.surveys.lessons import product_lessons
from storage.db import Factory, unit_of_work
from storage.models import DigestSubscription
from storage.repositories import digests as digest_repo
from storage.repositories import surveys as survey_repo
from storage.repositories.products import product_ref

HOME_MAX_PRODUCTS = 20



# ----------------------------------------------------------------------------- App Home
@dataclass(frozen=True)
class HomeData:
    entries: list[tuple[GateReport | None, str, str]]
    subscriptions: list[str]
    open_surveys: list[str]
    lessons: dict[str, Lessons] = field(default_factory=dict)  # by slug: the survey's lessons
    custom_rules: dict[str, str] = field(default_factory=dict)  # slug -> "Custom rules: …"
    sources: list[str] = field(default_factory=list)  # one line per SQL source: last sync or last error
    product_ids: dict[str, int] = field(default_factory=dict)  # slug -> product id (who manages what)


def home_data(factory: Factory, *, cache: ReportCache, team_id: str, single_workspace: bool, now: datetime,
              manages: Callable[[int], bool] | None = None) -> HomeData:
    """Verdict and signals of the team's products (with their survey's lessons), its digest subscriptions and open surveys,
    as plain lines (channel mentions are Slack ids, product names are escaped by the renderer). A SQL
    source's host and database show only for the products ``manages(product_id)`` is true of."""
    with unit_of_work(factory) as s:
        ws = slack_workspace(s, team_id, single_workspace=single_workspace)
        products = list(list_products(s, ws.id))
        names = {p.id: p.slug for p in products}
        subs = digest_repo.workspace_subscription_rows(s, workspace_id=ws.id)
        surveys = survey_repo.open_surveys_of_workspace(s, workspace_id=ws.id)
        sub_lines = [_subscription_line(x, names.get(x.product_id, "?")) for x in subs]
        survey_lines = [f"<#{x.channel_id}> · `{names.get(x.product_id, '?')}` · {x.response_count} responses · "
                        f"closes {x.closes_at.date().isoformat()}" + (" · anonymous" if x.anonymous else "")
                        for x in surveys]
        rules = {p.slug: line for p in products
                 if (line := custom_rules_in(s, product_ref(p, ws.team_id))) is not None}
        pending = [pending_report(cache, s, product_ref(p, ws.team_id), now) for p in products[:HOME_MAX_PRODUCTS]]
        lessons = {p.product.slug: product_lessons(s, p.product, today_in(p.product.settings.timezone, now))
                   for p in pending if p.has_data}
        rest = [(p.slug, p.name) for p in products[HOME_MAX_PRODUCTS:]]
        sources = workspace_source_lines(s, ws.id, manages)
    entries: list[tuple[GateReport | None, str, str]] = []
    for p in pending:
        entries.append((fetch_report(factory, cache, p, with_chart=False).report if p.has_data else None, p.product.slug,
                        p.product.name))
    entries += [(None, slug, name) for slug, name in rest]
    return HomeData(entries, sub_lines, survey_lines, lessons, rules, sources, {p.slug: p.id for p in products})


def _subscription_line(sub: DigestSubscription, slug: str) -> str:
    line = f"<#{sub.channel_id}> · `{slug}` · {every(sub.weekday % 7)} {sub.local_time} {sub.timezone}"
    if not sub.active:
        line += " · paused" + (f" ({sub.paused_reason})" if sub.paused_reason else "")
    elif sub.last_error:
        line += f" · :warning: last delivery failed: `{sub.last_error}`"
    return line


