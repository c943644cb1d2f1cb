"""`python -m api.seed`: the demo merchant and the seven demo orders (idempotent).

Dates are relative to today so the outcomes never drift. The merchant's password is generated
on first run and printed once (also kept in var/demo-login.txt, outside git, for `make run`).
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import session_scope
from api.models import Customer, Merchant, MerchantUser, Order, OrderItem, Product, ProductVariant
from api.security import hash_password
from api.settings import get_settings

MERCHANT_SLUG = "acme"
ADMIN_EMAIL = "admin@acme-outfitters.example"


@dataclass(frozen=True)
class DemoItem:
    sku: str
    name: str
    category: str
    price: str
    final_sale: bool = False
    fragile: bool = False
    variants: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class DemoOrder:
    number: str
    email: str
    name: str
    postcode: str
    city: str
    address: str
    delivered_days_ago: int | None  # None: shipped, not delivered
    items: tuple[DemoItem, ...]


DEMO_ORDERS = (
    DemoOrder(
        "100231",
        "jane@example.com",
        "Jane Doe",
        "10001",
        "New York",
        "350 5th Ave",
        5,
        (
            DemoItem(
                "SHOE-RUN-42",
                "Running shoes",
                "footwear",
                "120.00",
                variants=(("EU 41", 4), ("EU 42", 3), ("EU 43", 0)),
            ),
            DemoItem(
                "TSHIRT-COT-M", "Cotton t-shirt", "apparel", "25.00", variants=(("S", 5), ("M", 2), ("L", 6))
            ),
        ),
    ),
    DemoOrder(
        "100232",
        "raj@example.com",
        "Raj Patel",
        "94107",
        "San Francisco",
        "500 Brannan St",
        2,
        (DemoItem("VASE-CER-01", "Ceramic vase", "home", "60.00", fragile=True),),
    ),
    DemoOrder(
        "100233",
        "mina@example.com",
        "Mina Kim",
        "60601",
        "Chicago",
        "200 E Randolph St",
        45,
        (DemoItem("JACKET-WOOL-L", "Wool jacket", "apparel", "180.00", variants=(("M", 1), ("L", 2))),),
    ),
    DemoOrder(
        "100234",
        "li@example.com",
        "Li Wei",
        "02139",
        "Cambridge",
        "77 Massachusetts Ave",
        3,
        (DemoItem("HEADPHONES-WL", "Wireless headphones", "electronics", "349.00"),),
    ),
    DemoOrder(
        "100235",
        "sam@example.com",
        "Sam Rivera",
        "73301",
        "Austin",
        "1100 Congress Ave",
        4,
        (DemoItem("SWIM-01", "Swimsuit", "apparel", "40.00", final_sale=True),),
    ),
    DemoOrder(
        "100236",
        "ana@example.com",
        "Ana Souza",
        "98101",
        "Seattle",
        "400 Pine St",
        None,
        (DemoItem("LAMP-DESK-01", "Desk lamp", "home", "45.00"),),
    ),
    DemoOrder(
        "100237",
        "tom@example.com",
        "Tom Baker",
        "30301",
        "Atlanta",
        "55 Marietta St",
        2,
        (DemoItem("CASE-PHONE-01", "Phone case", "accessories", "15.00"),),
    ),
)


def _merchant(session: Session) -> Merchant:
    merchant = session.scalar(select(Merchant).where(Merchant.slug == MERCHANT_SLUG))
    if merchant is None:
        merchant = Merchant(
            slug=MERCHANT_SLUG,
            name="Acme Outfitters",
            brand_color="#0f766e",
            support_email="help@acme-outfitters.example",
            warehouse_address="Acme Returns Center\n1200 Industrial Way\nReno NV 89502\nUS",
        )
        session.add(merchant)
        session.flush()
    return merchant


def _admin(session: Session, merchant: Merchant) -> str | None:
    """Create the admin login once; returns the new password, or None when it already exists."""
    if session.scalar(select(MerchantUser).where(MerchantUser.email == ADMIN_EMAIL)):
        return None
    password = secrets.token_urlsafe(12)
    session.add(
        MerchantUser(
            merchant_id=merchant.id,
            email=ADMIN_EMAIL,
            name="Acme Admin",
            password_hash=hash_password(password),
            role="admin",
        )
    )
    return password


def _product(session: Session, merchant: Merchant, item: DemoItem) -> Product:
    product = session.scalar(
        select(Product).where(Product.merchant_id == merchant.id, Product.sku == item.sku)
    )
    if product is None:
        product = Product(
            merchant_id=merchant.id,
            sku=item.sku,
            name=item.name,
            category=item.category,
            price=Decimal(item.price),
            final_sale=item.final_sale,
            fragile=item.fragile,
        )
        session.add(product)
        session.flush()
        for name, stock in item.variants:
            session.add(
                ProductVariant(
                    product_id=product.id, sku=f"{item.sku}-{name.replace(' ', '')}", name=name, stock=stock
                )
            )
        session.flush()
    return product


def _order(session: Session, merchant: Merchant, demo: DemoOrder, now: datetime) -> bool:
    if session.scalar(select(Order.id).where(Order.merchant_id == merchant.id, Order.number == demo.number)):
        return False
    customer = session.scalar(
        select(Customer).where(Customer.merchant_id == merchant.id, Customer.email == demo.email)
    )
    if customer is None:
        customer = Customer(merchant_id=merchant.id, email=demo.email, name=demo.name)
        session.add(customer)
        session.flush()
    delivered = now - timedelta(days=demo.delivered_days_ago) if demo.delivered_days_ago is not None else None
    shipped = (delivered or now) - timedelta(days=2)
    order = Order(
        merchant_id=merchant.id,
        customer_id=customer.id,
        number=demo.number,
        status="delivered" if delivered else "shipped",
        email=demo.email,
        shipping_name=demo.name,
        address_line1=demo.address,
        city=demo.city,
        postcode=demo.postcode,
        country="US",
        ordered_at=shipped - timedelta(days=1),
        shipped_at=shipped,
        delivered_at=delivered,
    )
    session.add(order)
    session.flush()
    for item in demo.items:
        product = _product(session, merchant, item)
        variant = product.variants[1] if len(product.variants) > 1 else None
        session.add(
            OrderItem(
                order_id=order.id,
                product_id=product.id,
                variant_id=variant.id if variant else None,
                name=item.name,
                sku=variant.sku if variant else item.sku,
                quantity=1,
                unit_price=Decimal(item.price),
            )
        )
    return True


def add_orders(orders: Iterable[DemoOrder], now: datetime | None = None) -> int:
    """Add orders shaped like the demo ones (idempotent by number); the load test uses it."""
    now = now or datetime.now(UTC)
    with session_scope() as session:
        merchant = _merchant(session)
        return sum(_order(session, merchant, order, now) for order in orders)


def seed(now: datetime | None = None) -> tuple[int, str | None]:
    """Returns (orders created, new admin password or None)."""
    now = now or datetime.now(UTC)
    with session_scope() as session:
        merchant = _merchant(session)
        password = _admin(session, merchant)
        created = sum(_order(session, merchant, demo, now) for demo in DEMO_ORDERS)
    return created, password


def main() -> int:
    created, password = seed()
    print(f"demo data: {created} orders created ({len(DEMO_ORDERS) - created} already there)")
    if password:
        login_file = get_settings().var_dir / "demo-login.txt"
        login_file.parent.mkdir(parents=True, exist_ok=True)
        login_file.write_text(f"{ADMIN_EMAIL}\n{password}\n")
        login_file.chmod(0o600)
        print(f"merchant login created: {ADMIN_EMAIL} / {password}  (shown once; kept in {login_file})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
