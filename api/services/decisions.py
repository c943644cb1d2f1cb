"""The bridge from the database to the rules: build the policy's case from stored facts, decide.

The rules live in `policy/`; this module only gathers facts (order, items, customer history,
photo assessments, stock) and hands them over.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Merchant, Order, ProductVariant, ReturnRequest, ReturnStatus
from api.services.orders import returned_quantities
from api.settings import get_settings
from policy import (
    CustomerHistory,
    DamageEvidence,
    ItemFacts,
    OrderFacts,
    Policy,
    ReturnCase,
    decide,
    load_policy,
)

if TYPE_CHECKING:
    from api.services.returns import Line

HISTORY_DAYS = 365


def active_policy(session: Session, merchant_id: int | None = None) -> Policy:
    """The default policy, with the merchant's override (dashboard) or the settings file on top."""
    settings = get_settings()
    override: str | None = None
    if merchant_id is not None:
        merchant = session.get(Merchant, merchant_id)
        override = merchant.policy_yaml if merchant else None
    if override:
        return load_policy(overrides=yaml.safe_load(override) or {})
    if settings.policy_file:
        return load_policy(settings.policy_file)
    return load_policy()


def _history(session: Session, order: Order, now: datetime) -> CustomerHistory:
    since = now - timedelta(days=HISTORY_DAYS)
    rows = session.execute(
        select(ReturnRequest.created_at, ReturnRequest.status)
        .join(Order, ReturnRequest.order_id == Order.id)
        .where(
            Order.customer_id == order.customer_id,
            ReturnRequest.created_at >= since,
            ReturnRequest.status != ReturnStatus.cancelled.value,
        )
    ).all()
    return CustomerHistory(
        return_dates=tuple(created for created, _ in rows),
        rejected_returns=sum(1 for _, status in rows if status == ReturnStatus.rejected.value),
    )


def _in_stock(session: Session, variant_id: int | None) -> bool | None:
    if variant_id is None:
        return None
    variant = session.get(ProductVariant, variant_id)
    return bool(variant and variant.stock > 0)


def build_case(
    session: Session, *, order: Order, lines: list[Line], today: date, resolution: str | None
) -> ReturnCase:
    now = datetime.combine(today, time(12, 0), tzinfo=UTC)
    already = returned_quantities(session, order)
    items = []
    for line in lines:
        oi = line.order_item
        evidence = tuple(
            DamageEvidence.from_assessment(photo.assessment.as_policy_dict(), photo_id=photo.id)
            for photo in line.photos
            if photo.assessment is not None
        )
        items.append(
            ItemFacts(
                item_id=str(oi.id),
                name=oi.name,
                category=oi.product.category,
                price=oi.unit_price,
                reason_code=line.draft.reason_code,
                quantity=line.draft.quantity,
                quantity_ordered=oi.quantity,
                quantity_returned=already.get(oi.id, 0),
                final_sale=oi.product.final_sale,
                fragile=oi.product.fragile,
                reason_text=line.draft.reason_text,
                photos=evidence,
                photo_count=len(line.photos),
                exchange_in_stock=_in_stock(session, line.draft.exchange_variant_id),
            )
        )
    return ReturnCase(
        order=OrderFacts(order_number=order.number, status=order.status, delivered_at=order.delivered_at),
        items=tuple(items),
        today=now,
        customer=_history(session, order, now),
        resolution=resolution,
    )


def evaluate(
    session: Session, *, order: Order, lines: list[Line], today: date, resolution: str | None
) -> dict[str, Any]:
    case = build_case(session, order=order, lines=lines, today=today, resolution=resolution)
    return decide(case, active_policy(session, order.merchant_id)).to_dict()
