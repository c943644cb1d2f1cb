"""Finding an order behind its ownership proof, and throttling those who guess."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from api.models import Merchant, Order, OrderItem, ReturnItem, ReturnRequest, ReturnStatus
from api.settings import get_settings

_ORDER_DIGITS = re.compile(r"(\d{4,12})")


def normalise_order_number(raw: str) -> str:
    """`#100231`, `ORD-100231`, `order no. 100231` -> `100231`."""
    match = _ORDER_DIGITS.search(raw or "")
    return match.group(1) if match else (raw or "").strip()


def normalise_postcode(raw: str) -> str:
    return re.sub(r"\s+", "", (raw or "")).upper()


def default_merchant(session: Session) -> Merchant:
    merchant = session.scalar(select(Merchant).order_by(Merchant.id))
    if merchant is None:
        raise LookupError("no merchant: run `python -m api.seed`")
    return merchant


def find_order(
    session: Session,
    *,
    order_number: str,
    email: str | None = None,
    postcode: str | None = None,
    merchant_id: int | None = None,
) -> Order | None:
    """The order when the proof matches; None for a wrong number and a wrong proof alike."""
    if not (email or postcode):
        return None
    stmt = (
        select(Order)
        .where(Order.number == normalise_order_number(order_number))
        .options(selectinload(Order.items).selectinload(OrderItem.product))
    )
    if merchant_id is not None:
        stmt = stmt.where(Order.merchant_id == merchant_id)
    for order in session.scalars(stmt):
        if email and order.email.strip().lower() == email.strip().lower():
            return order
        if postcode and normalise_postcode(order.postcode) == normalise_postcode(postcode):
            return order
    return None


def returned_quantities(session: Session, order: Order) -> dict[int, int]:
    """How many of each order item are already in a live (not cancelled/rejected) return."""
    dead = [ReturnStatus.cancelled.value, ReturnStatus.rejected.value]
    rows = session.execute(
        select(ReturnItem.order_item_id, func.sum(ReturnItem.quantity))
        .join(ReturnRequest, ReturnItem.return_id == ReturnRequest.id)
        .where(ReturnRequest.order_id == order.id, ReturnRequest.status.not_in(dead))
        .group_by(ReturnItem.order_item_id)
    )
    return {item_id: int(qty or 0) for item_id, qty in rows}


# --- throttling -------------------------------------------------------------------------------

def _window_start() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=get_settings().lookup_window_seconds)


def retry_after_seconds(session: Session, client_key: str) -> int | None:
    """Seconds to wait when this client failed too often recently; None when it may try."""
    from api.models import LookupFailure

    settings = get_settings()
    failures = list(
        session.scalars(
            select(LookupFailure.created_at)
            .where(LookupFailure.client_key == client_key, LookupFailure.created_at >= _window_start())
            .order_by(LookupFailure.created_at)
        )
    )
    if len(failures) < settings.lookup_max_failures:
        return None
    oldest_relevant = failures[-settings.lookup_max_failures]
    free_at = oldest_relevant + timedelta(seconds=settings.lookup_window_seconds)
    return max(1, int((free_at - datetime.now(UTC)).total_seconds()) + 1)


def note_failure(session: Session, client_key: str) -> None:
    from api.models import LookupFailure

    session.add(LookupFailure(client_key=client_key))
    session.execute(delete(LookupFailure).where(LookupFailure.created_at < _window_start()))
