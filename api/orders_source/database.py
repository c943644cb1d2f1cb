"""The built-in database as an order source: what api/services/orders.py `find_order` reads."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.models import Order
from api.orders_source.base import OrderLine, OrderRecord


def to_record(order: Order) -> OrderRecord:
    return OrderRecord(
        source="database",
        id=str(order.id),
        number=order.number,
        email=order.email,
        postcode=order.postcode,
        currency=order.currency,
        status=order.status,
        ordered_at=order.ordered_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        shipping_name=order.shipping_name,
        address_line1=order.address_line1,
        city=order.city,
        country=order.country,
        lines=[
            OrderLine(
                id=str(i.id),
                name=i.name,
                sku=i.sku,
                quantity=i.quantity,
                unit_price=i.unit_price,
                variant=i.variant.name if i.variant else "",
                category=i.product.category if i.product else "",
            )
            for i in order.items
        ],
    )


class DatabaseOrderSource:
    name = "database"

    def __init__(self, session: Session | None = None, merchant_id: int | None = None) -> None:
        self.session = session
        self.merchant_id = merchant_id

    def find(
        self, *, order_number: str, email: str | None = None, postcode: str | None = None
    ) -> OrderRecord | None:
        from api.services.orders import find_order

        if self.session is not None:
            order = find_order(
                self.session,
                order_number=order_number,
                email=email,
                postcode=postcode,
                merchant_id=self.merchant_id,
            )
            return to_record(order) if order is not None else None
        from api.db import session_scope

        with session_scope() as session:
            order = find_order(
                session,
                order_number=order_number,
                email=email,
                postcode=postcode,
                merchant_id=self.merchant_id,
            )
            return to_record(order) if order is not None else None
