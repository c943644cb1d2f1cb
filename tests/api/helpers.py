"""Small helpers shared by the API tests: demo data, drafts, photos, signed webhooks, row counts."""

from __future__ import annotations

import io
import json
import uuid
from datetime import date
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.conftest import SERVICE_TOKEN

# For tests whose outcome cannot depend on the database (request validation, image decoding):
# they run on SQLite only, so the PostgreSQL run spends its time where the backends differ.
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
WRONG_SERVICE = {"Authorization": "Bearer not-the-service-token"}

# order number -> (email, postcode), as DESIGN.md's demo table says
DEMO = {
    "100231": ("jane@example.com", "10001"),
    "100232": ("raj@example.com", "94107"),
    "100233": ("mina@example.com", "60601"),
    "100234": ("li@example.com", "02139"),
    "100235": ("sam@example.com", "73301"),
    "100236": ("ana@example.com", "98101"),
    "100237": ("tom@example.com", "30301"),
}


def email(order: str) -> str:
    return DEMO[order][0]


def postcode(order: str) -> str:
    return DEMO[order][1]


def lookup(client: Any, order: str) -> dict[str, Any]:
    r = client.post("/api/v1/orders/lookup", json={"order_number": order, "email": email(order)})
    assert r.status_code == 200, r.text
    return dict(r.json())


def item_ids(client: Any, order: str) -> list[int]:
    return [int(i["id"]) for i in lookup(client, order)["items"]]


def draft(
    client: Any,
    order: str,
    reason: str = "changed_mind",
    *,
    item: int | None = None,
    photo_ids: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A one-item return draft for a demo order (the first item unless `item` says which)."""
    ids = item_ids(client, order)
    body: dict[str, Any] = {
        "order_number": order,
        "email": email(order),
        "items": [
            {
                "order_item_id": ids[0] if item is None else ids[item],
                "quantity": 1,
                "reason_code": reason,
                "photo_ids": photo_ids or [],
            }
        ],
        "conversation_id": "conv-test",
        "channel": "socketio",
    }
    body.update(extra)
    return body


def first_slot(client: Any, order: str, index: int = 0) -> dict[str, str]:
    r = client.get("/api/v1/pickups/slots", params={"postcode": postcode(order)})
    assert r.status_code == 200, r.text
    slot = [s for s in r.json() if s["available"]][index]
    return {"date": slot["date"], "window": slot["window"]}


def create_return(
    client: Any,
    order: str = "100231",
    reason: str = "doesnt_fit",
    *,
    key: str | None = None,
    slot_index: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    """Create an approved return with a pickup (or keep-item) through the API; the 201 body."""
    body = draft(client, order, reason, **extra)
    body.setdefault("pickup", first_slot(client, order, slot_index))
    body.setdefault("address_confirmed", True)
    r = client.post(
        "/api/v1/returns", json=body, headers={**SERVICE, "Idempotency-Key": key or f"key-{uuid.uuid4().hex}"}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def image_bytes(
    fmt: str = "JPEG",
    size: tuple[int, int] = (64, 48),
    color: Any = (200, 30, 30),
    mode: str = "RGB",
    **save: Any,
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt, **save)
    return out.getvalue()


def upload(
    client: Any, data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg", **form: str
) -> Any:
    return client.post("/api/v1/uploads", files={"file": (filename, data, content_type)}, data=form)


def upload_photo(client: Any, color: tuple[int, int, int] = (200, 30, 30)) -> str:
    r = upload(client, image_bytes(color=color))
    assert r.status_code == 201, r.text
    return str(r.json()["photo_id"])


def assess(
    client: Any,
    photo_id: str,
    *,
    damage: float,
    severity: str = "severe",
    confidence: float = 0.9,
    **extra: Any,
) -> Any:
    body = {
        "damage_probability": damage,
        "severity": severity,
        "damage_type": "crushed",
        "confidence": confidence,
        "unusable_probability": 0.01,
        "quality": {"ok": True, "issues": [], "message": ""},
        "model_version": "damage-test-1",
        "latency_ms": 12.5,
        **extra,
    }
    r = client.post(f"/api/v1/photos/{photo_id}/assessment", json=body, headers=SERVICE)
    assert r.status_code == 201, r.text
    return r


def assessed_photo(client: Any, damage: float, color: tuple[int, int, int] = (200, 30, 30)) -> str:
    photo_id = upload_photo(client, color)
    assess(client, photo_id, damage=damage, severity="severe" if damage >= 0.7 else "none")
    return photo_id


def signed(body: dict[str, Any], secret: str = "test-carrier-secret") -> tuple[bytes, dict[str, str]]:
    from api.security import hmac_hex

    raw = json.dumps(body).encode()
    return raw, {"X-Courier-Signature": "sha256=" + hmac_hex(secret, raw), "Content-Type": "application/json"}


def carrier_event(client: Any, reference: str, event: str, event_id: str) -> Any:
    raw, headers = signed(
        {"event_id": event_id, "reference": reference, "event": event, "at": "2026-01-01T10:00:00Z"}
    )
    return client.post("/api/v1/carrier/webhook", content=raw, headers=headers)


def count(model: Any, *where: Any) -> int:
    from api.db import session_scope

    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def rows(model: Any, *where: Any) -> list[Any]:
    from api.db import session_scope

    with session_scope() as session:
        order = list(model.__table__.primary_key.columns)
        return list(session.scalars(select(model).where(*where).order_by(*order)))


def iso(day: date) -> str:
    return day.isoformat()


OTHER_EMAIL = "owner@other-shop.example"
OTHER_PASSWORD = "other-shop-password-1"


def other_merchant_headers(client: Any) -> dict[str, str]:
    """A second merchant with its own user, signed in: it must see none of Acme's data."""
    from api.db import session_scope
    from api.models import Merchant, MerchantUser
    from api.security import hash_password

    with session_scope() as session:
        merchant = Merchant(slug="other", name="Other Shop")
        session.add(merchant)
        session.flush()
        session.add(
            MerchantUser(
                merchant_id=merchant.id,
                email=OTHER_EMAIL,
                role="admin",
                password_hash=hash_password(OTHER_PASSWORD),
            )
        )
    r = client.post("/api/v1/auth/token", data={"username": OTHER_EMAIL, "password": OTHER_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
