"""``pmfbot export responses``: survey responses (Slack and imported) as rows ``pmfbot import
responses`` reads back; anonymous answers carry their keyed hash, never a Slack id."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from bot.domain import survey as domain
from bot.errors import NotFound
from bot.products import service as product_service
from storage.db import Factory, unit_of_work
from storage.repositories import surveys as survey_repo

# ----------------------------------------------------------------------------- export


EXPORT_COLUMNS = ("respondent_id", "answered_at", "answer", "segment", "who_benefits", "main_benefit", "improve")


def export_responses(factory: Factory, *, product_slug: str, team_id: str | None = None,
                     survey_id: int | None = None) -> Iterator[str]:
    """The product's responses (or one survey's) as CSV lines in the import format (SPEC §4),
    header first, answers as their labels. Anonymous answers carry their hash as
    ``respondent_id``, so re-importing the file keeps them one respondent each. Rows are streamed
    in id order, in pages."""
    with unit_of_work(factory) as s:
        product = product_service.cli_product(s, product_slug, team_id)
        if survey_id is not None and survey_repo.survey_id_of_product(s, survey_id=survey_id,
                                                                      product_id=product.id) is None:
            raise NotFound(f"No survey {survey_id} for product {product.slug!r}.")
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        yield buf.getvalue()
        last = 0
        while True:
            page = survey_repo.response_page(s, product_id=product.id, survey_id=survey_id, after_id=last)
            if not page:
                return
            for r in page:
                buf.seek(0)
                buf.truncate()
                writer.writerow([r.respondent_key, r.answered_at.isoformat(),
                                 domain.answer_label(r.answer, product.name), r.segment or "",  # type: ignore[arg-type]
                                 r.who_benefits or "", r.main_benefit or "", r.improve or ""])
                yield buf.getvalue()
            last = page[-1].id
            s.expunge_all()


