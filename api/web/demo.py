"""What the demo shop pages show: the demo merchant's products and its seeded orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.models import Merchant, Order, OrderItem, Product, ReturnRequest
from api.seed import DEMO_ORDERS, MERCHANT_SLUG

DEFAULT_NAME = "Acme Outfitters"
DEFAULT_COLOR = "#0f766e"

# Storefront copy and picture per seeded SKU (pictures are our own SVGs under static/img/).
PRODUCT_COPY: dict[str, tuple[str, str]] = {
    "SHOE-RUN-42": ("Light, springy trainers for daily miles.", "shoes.svg"),
    "TSHIRT-COT-M": ("Heavyweight organic cotton, boxy fit.", "tshirt.svg"),
    "VASE-CER-01": ("Hand-glazed stoneware in sea-glass green.", "vase.svg"),
    "JACKET-WOOL-L": ("Boiled wool overshirt for cold mornings.", "jacket.svg"),
    "HEADPHONES-WL": ("Noise-cancelling, 40-hour battery.", "headphones.svg"),
    "SWIM-01": ("Recycled-nylon one-piece.", "swimsuit.svg"),
    "LAMP-DESK-01": ("Warm, dimmable, folds flat.", "lamp.svg"),
    "CASE-PHONE-01": ("Slim case with a grippy edge.", "phonecase.svg"),
}

# What each seeded order is there to show (docs: DESIGN.md "Demo data").
ORDER_HINTS: dict[str, str] = {
    "100231": "A normal return, or exchange the shoes for another size.",
    "100232": "The vase arrived broken: send a photo of the damage.",
    "100233": "Delivered 45 days ago: outside the return window.",
    "100234": "High value: photos are needed and a person reviews it.",
    "100235": "Final sale: the swimsuit cannot be returned.",
    "100236": "Not delivered yet: ask where it is.",
    "100237": "Low value: refunded without sending it back.",
}


@dataclass(frozen=True)
class ShopProduct:
    sku: str
    name: str
    category: str
    price: Decimal
    blurb: str
    image: str
    final_sale: bool


@dataclass(frozen=True)
class DemoOrderView:
    number: str
    email: str
    postcode: str
    name: str
    status: str
    ordered_at: datetime
    delivered_days_ago: int | None
    items: list[OrderItem]
    hint: str
    returns: list[ReturnRequest] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((item.paid for item in self.items), Decimal("0"))

    @property
    def status_text(self) -> str:
        if self.delivered_days_ago is None:
            return "Shipped, on its way" if self.status == "shipped" else self.status.capitalize()
        days = self.delivered_days_ago
        return "Delivered today" if days == 0 else f"Delivered {days} day{'s' if days != 1 else ''} ago"


def demo_merchant(session: Session) -> Merchant | None:
    return session.scalar(select(Merchant).where(Merchant.slug == MERCHANT_SLUG))


def storefront_products(session: Session, merchant: Merchant | None) -> list[ShopProduct]:
    if merchant is None:
        return []
    products = session.scalars(select(Product).where(Product.merchant_id == merchant.id).order_by(Product.id))
    shown = []
    for product in products:
        blurb, image = PRODUCT_COPY.get(product.sku, ("", "product.svg"))
        shown.append(
            ShopProduct(
                sku=product.sku,
                name=product.name,
                category=product.category,
                price=product.price,
                blurb=blurb,
                image=image,
                final_sale=product.final_sale,
            )
        )
    return shown


def demo_orders(
    session: Session, merchant: Merchant | None, now: datetime | None = None
) -> list[DemoOrderView]:
    """The seeded orders only (never a real customer's), with the returns started on them."""
    if merchant is None:
        return []
    now = now or datetime.now(UTC)
    numbers = [demo.number for demo in DEMO_ORDERS]
    orders = session.scalars(
        select(Order)
        .where(Order.merchant_id == merchant.id, Order.number.in_(numbers))
        .options(
            selectinload(Order.items).selectinload(OrderItem.product),
            selectinload(Order.items).selectinload(OrderItem.variant),
        )
        .order_by(Order.number)
    ).all()
    returns: dict[int, list[ReturnRequest]] = {}
    for ret in session.scalars(
        select(ReturnRequest)
        .where(ReturnRequest.order_id.in_([o.id for o in orders]))
        .order_by(ReturnRequest.id)
    ):
        returns.setdefault(ret.order_id, []).append(ret)
    views = []
    for order in orders:
        delivered = order.delivered_at
        days = max((now - delivered).days, 0) if delivered is not None else None
        views.append(
            DemoOrderView(
                number=order.number,
                email=order.email,
                postcode=order.postcode,
                name=order.shipping_name,
                status=order.status,
                ordered_at=order.ordered_at,
                delivered_days_ago=days,
                items=list(order.items),
                hint=ORDER_HINTS.get(order.number, ""),
                returns=returns.get(order.id, []),
            )
        )
    return views
