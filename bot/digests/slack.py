"""``/pmf-check digest now``: the current digest posted at once in a channel, exactly once (through
``bot.slack.post``), outside the weekly schedule, with its chart below it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.digests import blocks as digest_blocks
from bot.digests import service as digests
from bot.digests.ids import METADATA_EVENT
from bot.digests.schedule import report_week
from bot.digests.service import DigestContent
from bot.digests.tick import render_chart
from bot.errors import UserError
from bot.slack import post
from bot.slack.errors import PermanentSlackError, error_code
from storage.repositories.products import ProductRef

log = logging.getLogger(__name__)


def send_digest_now(ctx: AppContext, *, team_id: str, channel_id: str, product: ProductRef,
                    client: Any | None = None, renderer: Callable[[DigestContent], bytes] = render_chart) -> str:
    """``/pmf-check digest now``: post the current digest in a channel at once (outside the
    weekly schedule; it does not count as the week's digest). Returns the message ts."""
    client = client or ctx.client_for_team(team_id)
    now = ctx.now()
    week = report_week(product, now)
    content = digests.digest_content(ctx.factory, product=product, week=week)
    message = digest_blocks.digest_message(
        content.report, previous=content.previous, week=week,
        surveys=[digest_blocks.SurveyLine(s.channel_id, s.responses, s.closes_at, s.anonymous)
                 for s in content.open_surveys],
        tz=product.settings.timezone, no_new_data=content.no_new_data, chart_follows=content.has_chart,
        custom_rules=content.custom_rules, source_problem=content.source_problem)
    try:
        ts = post.post(client, channel_id=channel_id, message=message,
                       meta=post.metadata(METADATA_EVENT, manual=True, product=product.slug, nonce=uuid.uuid4().hex),
                       since=now - post.RECONCILE_SLACK)
    except post.PostOutcomeUnknown as err:
        raise UserError(f"Slack did not confirm the post in <#{channel_id}> ({err.code}). Look in the channel "
                        "before trying again, so it does not appear twice.") from None
    except (SlackApiError, PermanentSlackError) as err:
        raise UserError(f"I could not post in <#{channel_id}>: {digest_blocks.error_help(error_code(err))}.") from None
    if content.has_chart:
        try:
            post.upload(client, channel_id=channel_id, content=renderer(content),
                        filename=digest_blocks.chart_filename(product.slug, week),
                        title=digest_blocks.chart_title(product.name, week))
        except Exception as err:  # noqa: BLE001 - the digest is posted; say nothing more than the log
            log.warning("digest now team=%s channel=%s: chart upload failed: %s", team_id, channel_id, error_code(err))
    log.info("digest now team=%s channel=%s product=%s ts=%s", team_id, channel_id, product.slug, ts)
    return ts
