"""Finding an order behind its ownership proof, and throttling those who guess."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.models import Merchant, Order, OrderItem, ReturnItem, ReturnRequest, ReturnStatus
from api.settings import get_settings

log = logging.getLogger("api.orders")

_ORDER_DIGITS = re.compile(r"(\d{4,12})")

SOURCE_UNAVAILABLE = "The shop's order system did not answer. Please try again in a moment."


class OrderSourceUnavailable(Exception):
    """The order source (ORDER_SOURCE=shopify) could not answer: down, 5xx, throttled, misconfigured.

    Never "no such order": the API answers 503 with `detail` (a sentence the bot can relay) and
    `reason`, and nothing is written."""

    reason = "order_source_unavailable"
    retry_after = 10  # seconds; Shopify's GraphQL bucket refills in about that time

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause
        self.detail = SOURCE_UNAVAILABLE


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


def resolve_order(
    session: Session,
    *,
    order_number: str,
    email: str | None = None,
    postcode: str | None = None,
    refresh: bool = True,
) -> Order | None:
    """The order behind its proof, from the source the settings choose (ORDER_SOURCE).

    database (default): `find_order`, nothing else. shopify: Shopify is asked (only with a proof)
    and the order it confirms is imported into the local tables (api/orders_source/importer.py),
    in this session's transaction; with `refresh=False` a local copy whose proof matches is used
    without asking Shopify (the quote). A lookup Shopify does not confirm changes nothing locally,
    so a wrong proof can never touch an order. Raises `OrderSourceUnavailable` when Shopify cannot
    answer, before anything is written. On a concurrent first import of the same order (unique
    number) the session is rolled back and the import repeated once: callers call this before
    they write anything themselves.
    """
    from api.orders_source import OrderSourceError, get_order_source
    from api.orders_source.importer import import_order

    settings = get_settings()
    if settings.order_source == "database":
        return find_order(session, order_number=order_number, email=email, postcode=postcode)
    if not (email or postcode):
        return None
    if not refresh:
        local = find_order(session, order_number=order_number, email=email, postcode=postcode)
        if local is not None:
            return local
    try:
        record = get_order_source().find(order_number=order_number, email=email, postcode=postcode)
    except OrderSourceError as exc:
        log.warning(
            "order source %s did not answer for order %s: %s",
            settings.order_source,
            normalise_order_number(order_number),
            exc,
        )
        raise OrderSourceUnavailable(str(exc)) from exc
    if record is None:
        return None
    merchant_id = default_merchant(session).id
    try:
        order = import_order(session, record, merchant_id=merchant_id)
    except IntegrityError:
        session.rollback()  # another request imported the same order first: update that one
        order = import_order(session, record, merchant_id=merchant_id)
    return order


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
