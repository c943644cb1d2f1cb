"""Importing an order the shop platform confirmed into the local tables.

Returns, decisions, pickups, the warehouse receipt and the dashboard all work on `orders` /
`order_items`; so an order found in Shopify is upserted there, in the caller's transaction:

- the customer (by email, case-insensitive), created when new;
- products and variants: a local variant or product whose SKU is the line's SKU is used as it is
  (a catalogue kept in this database wins); otherwise a product keyed `shopify-<product id>`
  (name, category from Shopify's `productType`, price) and a variant named after the line's
  variant title (SKU = the line's SKU), with stock 0 (Shopify's stock is not imported);
- the order, keyed by merchant + order number (the Shopify order name without `#`): a second
  import updates the same row, never a second one;
- its items, matched again on a refresh by product and SKU so their ids (which the chat and the
  returns hold) stay the same; a line that disappeared is deleted unless a return refers to it.

Prices stay `Decimal`; dates are the fulfilment dates (`delivered_at` is what the return window
counts from). Every import that creates or changes something leaves an audit line.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from api.models import Customer, Order, OrderItem, Product, ProductVariant, ReturnItem
from api.orders_source.base import OrderLine, OrderRecord
from api.services import audit

ORDER_FIELDS = (
    "status",
    "currency",
    "email",
    "shipping_name",
    "address_line1",
    "city",
    "postcode",
    "country",
    "ordered_at",
    "shipped_at",
    "delivered_at",
)


def _clip(value: str | None, length: int) -> str:
    return (value or "").strip()[:length]


def _platform_id(gid: str) -> str:
    """`gid://shopify/Product/123` -> `123`."""
    return gid.rsplit("/", 1)[-1] if gid else ""


def _category(raw: str) -> str:
    return re.sub(r"\s+", " ", (raw or "").strip().lower())[:32] or "other"


def _customer(session: Session, merchant_id: int, record: OrderRecord) -> Customer:
    email = _clip(record.email, 254).lower()
    customer = session.scalar(
        select(Customer).where(Customer.merchant_id == merchant_id, func.lower(Customer.email) == email)
    )
    if customer is None:
        customer = Customer(merchant_id=merchant_id, email=email, name=_clip(record.shipping_name, 200))
        session.add(customer)
        session.flush()
    elif not customer.name and record.shipping_name:
        customer.name = _clip(record.shipping_name, 200)
    return customer


def _product_key(line: OrderLine) -> str:
    if line.product_id:
        return f"shopify-{_platform_id(line.product_id)}"
    if line.sku.strip():
        return _clip(line.sku, 64)
    return f"shopify-line-{_platform_id(line.id)}"


def _product_and_variant(
    session: Session, merchant_id: int, line: OrderLine
) -> tuple[Product, ProductVariant | None]:
    sku = _clip(line.sku, 64)
    if sku:
        variant = session.scalar(
            select(ProductVariant)
            .join(Product, ProductVariant.product_id == Product.id)
            .where(Product.merchant_id == merchant_id, ProductVariant.sku == sku)
            .order_by(ProductVariant.id)
            .limit(1)
        )
        if variant is not None:
            return variant.product, variant
        product = session.scalar(
            select(Product).where(Product.merchant_id == merchant_id, Product.sku == sku)
        )
        if product is not None:
            return product, None
    key = _product_key(line)
    product = session.scalar(select(Product).where(Product.merchant_id == merchant_id, Product.sku == key))
    if product is None:
        product = Product(
            merchant_id=merchant_id,
            sku=key,
            name=_clip(line.product_title or line.name, 200),
            category=_category(line.category),
            price=line.unit_price,
        )
        session.add(product)
        session.flush()
    name = line.variant.strip()
    if not name or name == "Default Title":  # Shopify's name for "this product has no variants"
        return product, None
    variant_sku = sku or (
        f"shopify-{_platform_id(line.variant_id)}" if line.variant_id else _clip(f"{key}-{name}", 64)
    )
    variant = session.scalar(
        select(ProductVariant).where(
            ProductVariant.product_id == product.id, ProductVariant.sku == variant_sku
        )
    )
    if variant is None:
        variant = ProductVariant(product_id=product.id, sku=variant_sku, name=_clip(name, 100), stock=0)
        session.add(variant)
        session.flush()
    return product, variant


def _order_values(record: OrderRecord) -> dict[str, Any]:
    return {
        "status": record.status,
        "currency": _clip(record.currency, 3).upper() or "USD",
        "email": _clip(record.email, 254),
        "shipping_name": _clip(record.shipping_name, 200),
        "address_line1": _clip(record.address_line1, 200),
        "city": _clip(record.city, 100),
        "postcode": _clip(record.postcode, 16),
        "country": _clip(record.country, 2).upper(),
        "ordered_at": record.ordered_at,
        "shipped_at": record.shipped_at,
        "delivered_at": record.delivered_at,
    }


def import_order(session: Session, record: OrderRecord, *, merchant_id: int) -> Order:
    """Create or update the local copy of `record`; flushed, not committed. Returns the order."""
    order = session.scalar(
        select(Order)
        .where(Order.merchant_id == merchant_id, Order.number == record.number)
        .options(selectinload(Order.items))
    )
    values = _order_values(record)
    customer = _customer(session, merchant_id, record)
    changes: list[str] = []
    created = order is None
    if order is None:
        order = Order(
            merchant_id=merchant_id, customer_id=customer.id, number=_clip(record.number, 32), **values
        )
        session.add(order)
        session.flush()
        existing: list[OrderItem] = []
    else:
        for name, value in values.items():
            if getattr(order, name) != value:
                setattr(order, name, value)
                changes.append(name)
        if order.customer_id != customer.id:
            order.customer_id = customer.id
            changes.append("customer")
        existing = list(order.items)

    for line in record.lines:
        product, variant = _product_and_variant(session, merchant_id, line)
        item_sku = _clip(line.sku, 64) or product.sku
        item = next((i for i in existing if i.product_id == product.id and i.sku == item_sku), None)
        wanted = {
            "name": _clip(line.name, 200) or product.name,
            "sku": item_sku,
            "quantity": max(int(line.quantity), 0),
            "unit_price": line.unit_price,
            "variant_id": variant.id if variant is not None else None,
        }
        if item is None:
            session.add(OrderItem(order_id=order.id, product_id=product.id, **wanted))
            if not created:
                changes.append(f"item added: {wanted['name']}")
            continue
        existing.remove(item)
        for name, value in wanted.items():
            if getattr(item, name) != value:
                setattr(item, name, value)
                changes.append(f"item {item.id} {name}")
    for gone in existing:  # no longer on the order in Shopify
        referenced = session.scalar(select(ReturnItem.id).where(ReturnItem.order_item_id == gone.id).limit(1))
        if referenced is None:
            session.delete(gone)
            changes.append(f"item removed: {gone.name}")
    session.flush()
    session.expire(order, ["items"])
    if created or changes:
        audit.record(
            session,
            merchant_id=merchant_id,
            entity_type="order",
            entity_id=order.number,
            action="imported" if created else "updated",
            actor=f"source:{record.source}",
            data={
                "source": record.source,
                "source_id": record.id,
                **({"changes": changes} if changes else {}),
            },
        )
    return order
