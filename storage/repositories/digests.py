"""Digest queries: the SQL behind ``bot.digests.service`` (subscriptions, their last delivery,
the week's activity and the surveys still open). Each function takes the caller's session and
returns rows or plain values; the use cases own the unit of work, and these never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    ActivityWeek,
    DigestDelivery,
    DigestSubscription,
    Product,
    ProductUser,
    Survey,
    SurveyResponse,
)

# ----------------------------------------------------------------------------- subscriptions


def last_delivery(session: Session, sub_id: int) -> DigestDelivery | None:
    """The subscription's delivery for its latest period, if any."""
    return session.scalar(select(DigestDelivery).where(DigestDelivery.subscription_id == sub_id)
                          .order_by(DigestDelivery.period.desc()).limit(1))


def find_subscription(session: Session, *, product_id: int, channel_id: str) -> DigestSubscription | None:
    """The product's digest subscription in the channel (active or not), if any."""
    return session.scalar(select(DigestSubscription).where(DigestSubscription.product_id == product_id,
                                                           DigestSubscription.channel_id == channel_id))


def active_subscriptions_in_channel(session: Session, *, workspace_id: int,
                                    channel_id: str) -> list[tuple[DigestSubscription, Product]]:
    """The workspace's active subscriptions in the channel, each with its product."""
    rows = session.execute(select(DigestSubscription, Product).join(Product, Product.id == DigestSubscription.product_id)
                           .where(DigestSubscription.workspace_id == workspace_id,
                                  DigestSubscription.channel_id == channel_id,
                                  DigestSubscription.active.is_(True))).all()
    return [(sub, p) for sub, p in rows]


def workspace_subscriptions(session: Session, *, workspace_id: int) -> list[tuple[DigestSubscription, Product]]:
    """Every subscription of the workspace with its product, by product slug then channel."""
    rows = session.execute(select(DigestSubscription, Product).join(Product, Product.id == DigestSubscription.product_id)
                           .where(DigestSubscription.workspace_id == workspace_id)
                           .order_by(Product.slug, DigestSubscription.channel_id)).all()
    return [(sub, p) for sub, p in rows]


def subscribed_products(session: Session, *, workspace_id: int, channel_id: str) -> Sequence[Product]:
    """The products with an active subscription in the channel, by id."""
    return session.scalars(select(Product).join(DigestSubscription, DigestSubscription.product_id == Product.id)
                           .where(DigestSubscription.workspace_id == workspace_id,
                                  DigestSubscription.channel_id == channel_id,
                                  DigestSubscription.active.is_(True)).order_by(Product.id)).unique().all()


# ----------------------------------------------------------------------------- content


def count_active_users(session: Session, *, product_id: int, week: int) -> int:
    """How many of the product's users were active in ``week``."""
    return int(session.scalar(select(func.count()).select_from(ActivityWeek)
                              .join(ProductUser, ProductUser.id == ActivityWeek.user_id)
                              .where(ProductUser.product_id == product_id, ActivityWeek.week == week)) or 0)


def count_signups(session: Session, *, product_id: int, week: int) -> int:
    """How many of the product's users signed up in ``week``."""
    return int(session.scalar(select(func.count()).select_from(ProductUser)
                              .where(ProductUser.product_id == product_id, ProductUser.signup_week == week)) or 0)


def count_answers_between(session: Session, *, product_id: int, start: datetime, end: datetime) -> int:
    """How many of the product's survey responses were answered in ``[start, end)``."""
    return int(session.scalar(select(func.count()).select_from(SurveyResponse)
                              .where(SurveyResponse.product_id == product_id, SurveyResponse.answered_at >= start,
                                     SurveyResponse.answered_at < end)) or 0)


def open_surveys(session: Session, *, product_id: int) -> Sequence[Survey]:
    """The product's surveys not yet closed, by deadline."""
    return session.scalars(select(Survey).where(Survey.product_id == product_id, Survey.closed_at.is_(None))
                           .order_by(Survey.closes_at)).all()


def workspace_subscription_rows(session: Session, *, workspace_id: int) -> Sequence[DigestSubscription]:
    """Every digest subscription of the workspace, by id."""
    return session.scalars(select(DigestSubscription).where(DigestSubscription.workspace_id == workspace_id)
                           .order_by(DigestSubscription.id)).all()
