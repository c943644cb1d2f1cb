"""Helpers for the dashboard tests: users, a second merchant, flagged returns made through the API,
and signing in through the real form. They work with FastAPI's TestClient and with an httpx
client pointed at a live server alike."""

from __future__ import annotations

import base64
import csv
import io
import itertools
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

from tests.conftest import DATASET, SERVICE_TOKEN

_next_photo = itertools.count()

SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def make_user(merchant_slug: str, email: str, role: str = "reviewer", password: str = PASSWORD) -> int:
    from argon2 import PasswordHasher
    from sqlalchemy import select

    from api.db import session_scope
    from api.models import Merchant, MerchantUser

    # Light argon2 parameters keep the suite fast; the parameters travel inside the hash, so
    # the application's own verify_password checks it unchanged.
    hash_password = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash
    with session_scope() as db:
        merchant = db.scalar(select(Merchant).where(Merchant.slug == merchant_slug))
        assert merchant is not None
        user = MerchantUser(
            merchant_id=merchant.id,
            email=email,
            name=email.split("@")[0].title(),
            password_hash=hash_password(password),
            role=role,
        )
        db.add(user)
        db.flush()
        return user.id


def make_second_merchant(slug: str = "globex") -> dict[str, Any]:
    """Another shop on the same installation, with an order of its own (number 900001)."""
    from api.db import session_scope
    from api.models import Customer, Merchant, Order, OrderItem, Product

    now = datetime.now(UTC)
    with session_scope() as db:
        merchant = Merchant(slug=slug, name="Globex Goods", support_email=f"help@{slug}.example")
        db.add(merchant)
        db.flush()
        customer = Customer(merchant_id=merchant.id, email="zoe@example.com", name="Zoe Park")
        product = Product(
            merchant_id=merchant.id,
            sku="GLOBE-01",
            name="Desk globe",
            category="home",
            price=Decimal("80.00"),
            fragile=True,
        )
        db.add_all([customer, product])
        db.flush()
        order = Order(
            merchant_id=merchant.id,
            customer_id=customer.id,
            number="900001",
            status="delivered",
            email="zoe@example.com",
            shipping_name="Zoe Park",
            address_line1="1 Main St",
            city="Springfield",
            postcode="62701",
            country="US",
            ordered_at=now - timedelta(days=5),
            shipped_at=now - timedelta(days=4),
            delivered_at=now - timedelta(days=2),
        )
        db.add(order)
        db.flush()
        db.add(
            OrderItem(
                order_id=order.id,
                product_id=product.id,
                name="Desk globe",
                sku="GLOBE-01",
                quantity=1,
                unit_price=Decimal("80.00"),
            )
        )
        return {"id": merchant.id, "slug": slug}


def dataset_photo(label: str = "damaged") -> Path:
    """A real photo from the curated dataset; a different one on each call (distinct content)."""
    with (DATASET / "labels.csv").open() as fh:
        files = [row["file"] for row in csv.DictReader(fh) if row["label"] == label][:40]
    return DATASET / files[next(_next_photo) % len(files)]


def heatmap_png(photo: Path) -> bytes:
    """A heatmap-like overlay the size of the photo: a soft red blob over transparency."""
    with Image.open(photo) as img:
        width, height = img.size
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.ellipse((width * 0.25, height * 0.2, width * 0.75, height * 0.7), fill=(255, 40, 0, 200))
    draw.ellipse((width * 0.38, height * 0.32, width * 0.6, height * 0.55), fill=(255, 230, 0, 230))
    overlay = overlay.filter(ImageFilter.GaussianBlur(max(width, height) / 25))
    out = io.BytesIO()
    overlay.save(out, format="PNG")
    return out.getvalue()


def upload_assessed_photo(
    client: Any,
    photo: Path,
    *,
    probability: float = 0.55,
    confidence: float = 0.8,
    heatmap: bool = True,
    conversation_id: str | None = None,
) -> str:
    data = {"conversation_id": conversation_id} if conversation_id else {}
    with photo.open("rb") as fh:
        response = client.post("/api/v1/uploads", files={"file": (photo.name, fh, "image/jpeg")}, data=data)
    assert response.status_code == 201, response.text
    photo_id = response.json()["photo_id"]
    body: dict[str, Any] = {
        "damage_probability": probability,
        "severity": "minor" if probability > 0.3 else "none",
        "damage_type": "crushed" if probability > 0.3 else None,
        "confidence": confidence,
        "unusable_probability": 0.03,
        "quality": {"ok": True, "issues": [], "message": ""},
        "model_version": "damage-test-2026.11.26",
        "latency_ms": 30.0,
    }
    if heatmap:
        body["heatmap_png_b64"] = base64.b64encode(heatmap_png(photo)).decode()
    response = client.post(f"/api/v1/photos/{photo_id}/assessment", json=body, headers=SERVICE)
    assert response.status_code == 201, response.text
    return photo_id


def create_return(
    client: Any,
    *,
    order_number: str = "100234",
    email: str = "li@example.com",
    reason: str = "damaged_on_arrival",
    photos: int = 2,
    probability: float = 0.55,
    conversation_id: str | None = None,
    expect: str | None = "under_review",
    item_index: int = 0,
) -> dict[str, Any]:
    """A return made the way the action server makes one: lookup, photos, quote, create."""
    conversation_id = conversation_id or f"conv-{uuid.uuid4().hex[:10]}"
    order = client.post("/api/v1/orders/lookup", json={"order_number": order_number, "email": email})
    assert order.status_code == 200, order.text
    order = order.json()
    item = order["items"][item_index]
    photo_ids = [
        upload_assessed_photo(
            client, dataset_photo("damaged"), probability=probability, conversation_id=conversation_id
        )
        for _ in range(photos)
    ]
    draft = {
        "order_number": order_number,
        "email": email,
        "conversation_id": conversation_id,
        "channel": "socketio",
        "items": [
            {
                "order_item_id": item["id"],
                "quantity": 1,
                "reason_code": reason,
                "reason_text": "The left ear cup is cracked.",
                "photo_ids": photo_ids,
            }
        ],
    }
    quote = client.post("/api/v1/returns/quote", json=draft, headers=SERVICE)
    assert quote.status_code == 200, quote.text
    postcode = order.get("postcode") or _postcode(order_number)
    slots = client.get("/api/v1/pickups/slots", params={"postcode": postcode}).json()
    slot = next(s for s in slots if s["available"])
    body = {
        **draft,
        "resolution": (quote.json()["resolutions"] or ["refund"])[0],
        "pickup": {"date": slot["date"], "window": slot["window"]},
        "address_confirmed": True,
    }
    created = client.post(
        "/api/v1/returns", json=body, headers={**SERVICE, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert created.status_code == 201, created.text
    ret = created.json()
    if expect is not None:
        assert ret["status"] == expect, ret
    return ret


def _postcode(order_number: str) -> str:
    return {"100234": "02139", "100232": "94107", "100231": "10001", "900001": "62701"}.get(
        order_number, "10001"
    )


def login(client: Any, email: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/merchant/login")
    assert page.status_code == 200
    response = client.post(
        "/merchant/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text), "next": ""},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    queue = client.get("/merchant/queue")
    assert queue.status_code == 200, queue.text
    return csrf_of(queue.text)


def logout(client: Any) -> None:
    page = client.get("/merchant/queue")
    if page.status_code == 200 and "csrf_token" in page.text:
        client.post("/merchant/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    client.cookies.clear()
