"""ORDER_SOURCE=shopify through the API: the lookup asks Shopify (a loopback server speaking the
Admin GraphQL API's response shapes, tests/after_chat/shopify_fake.py), imports the order, and
quote, return creation, its decision, the pickup and the warehouse receipt work on the copy."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from api.models import (
    AuditLog,
    Customer,
    Decision,
    IdempotencyRecord,
    LookupFailure,
    Order,
    OrderItem,
    Pickup,
    Product,
    ProductVariant,
    ReturnRequest,
)
from api.services.orders import SOURCE_UNAVAILABLE
from api.services.returns import NOT_FOUND
from tests.after_chat.shopify_fake import ORDER_NODE, FakeShopify, use_shopify
from tests.api.helpers import SERVICE, count, rows, sqlite_only
from tests.support import free_port

LOOKUP = "/api/v1/orders/lookup"
JANE = {"order_number": "#1042", "email": "jane@example.com"}
ROW_MODELS = (
    Order,
    OrderItem,
    Product,
    ProductVariant,
    Customer,
    LookupFailure,
    AuditLog,
    ReturnRequest,
    Pickup,
    Decision,
    IdempotencyRecord,
)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def recent_order(delivered_days_ago: int = 5) -> dict[str, Any]:
    """ORDER_NODE delivered `delivered_days_ago` days ago, with product and variant ids."""
    now = datetime.now(UTC).replace(microsecond=0)
    delivered = now - timedelta(days=delivered_days_ago)
    node = copy.deepcopy(ORDER_NODE)
    node["createdAt"] = iso(delivered - timedelta(days=3))
    node["fulfillments"] = [
        {
            "createdAt": iso(delivered - timedelta(days=2)),
            "inTransitAt": iso(delivered - timedelta(days=2, hours=-6)),
            "deliveredAt": iso(delivered),
            "displayStatus": "DELIVERED",
            "status": "SUCCESS",
        }
    ]
    shoes, tee = (edge["node"] for edge in node["lineItems"]["edges"])
    shoes["product"] = {
        "id": "gid://shopify/Product/801",
        "title": "Trail running shoes",
        "productType": "Footwear",
    }
    shoes["variant"] = {"id": "gid://shopify/ProductVariant/9001", "sku": "SHOE-42", "title": "EU 42"}
    tee["product"] = {"id": "gid://shopify/Product/802", "title": "Organic T-shirt", "productType": "Apparel"}
    tee["variant"] = {"id": "gid://shopify/ProductVariant/9002", "sku": "TEE-M", "title": "M"}
    return node


def counts() -> dict[str, int]:
    return {model.__name__: count(model) for model in ROW_MODELS}


def imported() -> Order | None:
    found = rows(Order, Order.number == "1042")
    assert len(found) <= 1
    return found[0] if found else None


def lookup(client: Any, **body: Any) -> Any:
    return client.post(LOOKUP, json=body or JANE)


@pytest.fixture
def shop(shopify: FakeShopify, database: str) -> FakeShopify:
    shopify.orders = [recent_order()]
    return shopify


def test_lookup_imports_the_order_and_answers_like_the_database_source(
    client: Any, shop: FakeShopify
) -> None:
    before = counts()
    r = lookup(client)
    assert r.status_code == 200, r.text
    order = r.json()
    assert shop.queries == ['name:"#1042" AND email:"jane@example.com"']

    # The same shape as an order of the built-in database (the bot reads both alike).
    from api.db import session_scope
    from api.routers.orders import serialize_order
    from api.services.orders import find_order

    with session_scope() as session:
        demo = find_order(session, order_number="100231", email="jane@example.com")
        assert demo is not None
        shape = serialize_order(session, demo)
    assert set(order) == set(shape)
    assert set(order["shipping_address"]) == set(shape["shipping_address"])
    assert all(set(item) == set(shape["items"][0]) for item in order["items"])

    fulfilment = shop.orders[0]["fulfillments"][0]
    assert (order["order_number"], order["status"], order["currency"]) == ("1042", "delivered", "EUR")
    assert order["delivered_at"] == fulfilment["deliveredAt"].replace("Z", "+00:00")
    assert order["shipping_address"] == {
        "name": "Jane Doe",
        "line1": "1 Main St",
        "city": "Berlin",
        "postcode": "10115",
        "country": "DE",
    }
    assert [
        (
            i["name"],
            i["sku"],
            i["category"],
            i["price"],
            i["quantity"],
            i["returnable_quantity"],
            i["variant"],
        )
        for i in order["items"]
    ] == [
        ("Running shoes", "SHOE-42", "footwear", "120.00", 1, 1, "EU 42"),
        ("T-shirt", "TEE-M", "apparel", "25.50", 2, 2, "M"),
    ]
    assert order["items"][0]["variants"] == [
        {"id": order["items"][0]["variants"][0]["id"], "name": "EU 42", "in_stock": False}
    ]

    after = counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "Order": 1,
        "OrderItem": 2,
        "Product": 2,
        "ProductVariant": 2,
        "AuditLog": 1,
    }
    row = imported()
    assert row is not None and row.email == "Jane@Example.com" and row.postcode == "10115"
    # Jane already shops here (the demo data): the same customer, found by email in any case.
    assert rows(Customer, Customer.id == row.customer_id)[0].email == "jane@example.com"
    assert row.delivered_at is not None and row.shipped_at is not None
    items = rows(OrderItem, OrderItem.order_id == row.id)
    assert [i.unit_price for i in items] == [Decimal("120.00"), Decimal("25.50")]
    assert all(isinstance(i.unit_price, Decimal) for i in items)
    products = rows(Product, Product.sku.in_(["shopify-801", "shopify-802"]))
    assert [(p.name, p.category) for p in products] == [
        ("Trail running shoes", "footwear"),
        ("Organic T-shirt", "apparel"),
    ]
    log = rows(AuditLog, AuditLog.entity_type == "order")
    assert [(a.entity_id, a.action, a.actor, a.data["source_id"]) for a in log] == [
        ("1042", "imported", "source:shopify", "gid://shopify/Order/5512345678")
    ]

    # The postcode proves it as well (Shopify is asked by name only, the zip checked here).
    by_postcode = lookup(client, order_number="1042", postcode="10 115")
    assert by_postcode.status_code == 200, by_postcode.text
    assert [i["id"] for i in by_postcode.json()["items"]] == [i["id"] for i in order["items"]]
    assert shop.queries[-1] == 'name:"#1042"'


def test_wrong_proof_is_the_same_404_as_an_unknown_order_and_imports_nothing(
    client: Any, shop: FakeShopify, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.settings import get_settings

    monkeypatch.setenv("LOOKUP_MAX_FAILURES", "3")
    get_settings.cache_clear()
    before = counts()
    answers = [
        lookup(client, order_number="1042", email="someone@else.com"),
        lookup(client, order_number="1042", postcode="99999"),
        lookup(client, order_number="9999", email="jane@example.com"),
    ]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert {a.text for a in answers} == {f'{{"detail":"{NOT_FOUND}"}}'}
    after = counts()
    assert imported() is None
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"LookupFailure": 3}
    asked = len(shop.queries)
    throttled = lookup(client)  # even the right proof waits now, and Shopify is not asked
    assert throttled.status_code == 429 and throttled.headers["Retry-After"]
    assert len(shop.queries) == asked and imported() is None


def test_a_second_lookup_updates_the_copy_without_duplicates(client: Any, shop: FakeShopify) -> None:
    first = lookup(client).json()
    once = counts()

    node = shop.orders[0]
    later = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    node["fulfillments"][0]["deliveredAt"] = iso(later)
    node["shippingAddress"]["city"] = "Berlin-Mitte"
    tee = node["lineItems"]["edges"][1]["node"]
    tee["quantity"] = 3
    second = lookup(client).json()

    assert [i["id"] for i in second["items"]] == [i["id"] for i in first["items"]]
    assert second["delivered_at"] == iso(later).replace("Z", "+00:00")
    assert second["shipping_address"]["city"] == "Berlin-Mitte"
    assert [i["quantity"] for i in second["items"]] == [1, 3]
    twice = counts()
    assert {k: twice[k] - once[k] for k in twice if twice[k] != once[k]} == {"AuditLog": 1}
    update = rows(AuditLog, AuditLog.entity_type == "order", AuditLog.action == "updated")
    assert len(update) == 1 and {"delivered_at", "city"} <= set(update[0].data["changes"])

    # Nothing changed in Shopify: nothing is written at all.
    lookup(client)
    assert counts() == twice

    # A line gone from the order in Shopify (and in no return) goes from the copy too.
    node["lineItems"]["edges"].pop()
    third = lookup(client).json()
    assert [i["name"] for i in third["items"]] == ["Running shoes"]
    assert count(OrderItem, OrderItem.id == first["items"][1]["id"]) == 0


def test_a_full_return_for_an_imported_order_decides_on_the_fulfilment_date(
    client: Any, shop: FakeShopify, merchant_headers: dict[str, str]
) -> None:
    order = lookup(client).json()
    shoes = order["items"][0]
    draft = {
        "order_number": "1042",
        "email": "jane@example.com",
        "conversation_id": "conv-shopify",
        "channel": "socketio",
        "items": [
            {"order_item_id": shoes["id"], "quantity": 1, "reason_code": "doesnt_fit", "photo_ids": []}
        ],
    }
    quoted = client.post("/api/v1/returns/quote", json=draft, headers=SERVICE)
    assert quoted.status_code == 200, quoted.text
    decision = quoted.json()
    assert decision["outcome"] == "approve", decision
    delivered = order["delivered_at"][:10]
    window = next(r for r in decision["rules"] if r["code"] == "window.ok")
    assert f"Delivered {delivered} (5 days ago)" in window["merchant_detail"]
    assert decision["refund_amount"] == "114.05"  # 120.00 less the policy's 5.95 return shipping

    slots = client.get("/api/v1/pickups/slots", params={"postcode": "10115"}).json()
    slot = next(s for s in slots if s["available"])
    body = {
        **draft,
        "resolution": "refund",
        "pickup": {"date": slot["date"], "window": slot["window"]},
        "address_confirmed": True,
    }
    created = client.post(
        "/api/v1/returns", json=body, headers={**SERVICE, "Idempotency-Key": f"key-{uuid.uuid4().hex}"}
    )
    assert created.status_code == 201, created.text
    ret = created.json()
    assert ret["status"] == "pickup_scheduled" and ret["refund_amount"] == "114.05"
    assert ret["pickup"]["address"] == {
        "name": "Jane Doe",
        "line1": "1 Main St",
        "city": "Berlin",
        "postcode": "10115",
        "country": "DE",
    }
    row = imported()
    assert row is not None
    saved = rows(ReturnRequest, ReturnRequest.rma == ret["rma"])[0]
    assert saved.order_id == row.id
    assert count(Order, Order.number == "1042") == 1  # create refreshed the copy, no second row

    # The shopper's own view and the merchant's list find it; the warehouse receipt refunds it.
    mine = client.post("/api/v1/returns/lookup", json={"order_number": "1042", "email": "jane@example.com"})
    assert [r["rma"] for r in mine.json()] == [ret["rma"]]
    listed = client.get("/api/v1/returns", params={"order_number": "1042"}, headers=merchant_headers)
    assert [r["rma"] for r in listed.json()] == [ret["rma"]]
    received = client.post(
        f"/api/v1/returns/{ret['rma']}/receive", json={"condition": "as_expected"}, headers=merchant_headers
    )
    assert received.status_code == 200, received.text
    assert received.json()["status"] == "refunded"

    # The same order delivered 45 days ago (per Shopify's fulfilment): the window has closed.
    shop.orders = [recent_order(delivered_days_ago=45)]
    assert lookup(client).status_code == 200
    late = client.post(
        "/api/v1/returns/quote",
        json={**draft, "items": [{**draft["items"][0], "order_item_id": order["items"][1]["id"]}]},
        headers=SERVICE,
    ).json()
    assert late["outcome"] == "reject"
    assert "window.expired" in {r["code"] for r in late["rules"]}


@pytest.mark.parametrize("failure", ["unreachable", "http_503", "graphql_error"])
def test_shopify_failing_is_a_503_with_a_reason_and_writes_nothing(
    client: Any, shop: FakeShopify, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    if failure == "unreachable":
        use_shopify(monkeypatch, f"http://127.0.0.1:{free_port()}", timeout=2)
    else:
        shop.mode = failure  # Shopify's 503 page / a THROTTLED GraphQL error in a 200
    before = counts()
    r = lookup(client)
    assert r.status_code == 503, r.text
    assert r.json() == {"detail": SOURCE_UNAVAILABLE, "reason": "order_source_unavailable"}
    assert int(r.headers["Retry-After"]) > 0

    draft = {
        "order_number": "1042",
        "email": "jane@example.com",
        "channel": "socketio",
        "items": [{"order_item_id": 1, "quantity": 1, "reason_code": "doesnt_fit", "photo_ids": []}],
    }
    quoted = client.post("/api/v1/returns/quote", json=draft, headers=SERVICE)
    created = client.post(
        "/api/v1/returns",
        json={**draft, "address_confirmed": True},
        headers={**SERVICE, "Idempotency-Key": f"key-{uuid.uuid4().hex}"},
    )
    mine = client.post("/api/v1/returns/lookup", json={"order_number": "1042", "email": "jane@example.com"})
    for answer in (quoted, created, mine):
        assert answer.status_code == 503, answer.text
        assert answer.json() == {"detail": SOURCE_UNAVAILABLE, "reason": "order_source_unavailable"}
    assert counts() == before  # no order, no throttle entry, no return, no audit line


@sqlite_only
def test_creating_a_return_refreshes_from_shopify_and_waits_when_it_is_down(
    client: Any, shop: FakeShopify
) -> None:
    shoes = lookup(client).json()["items"][0]
    draft = {
        "order_number": "1042",
        "email": "jane@example.com",
        "channel": "socketio",
        "items": [
            {"order_item_id": shoes["id"], "quantity": 1, "reason_code": "doesnt_fit", "photo_ids": []}
        ],
    }
    asked = len(shop.queries)
    assert client.post("/api/v1/returns/quote", json=draft, headers=SERVICE).status_code == 200
    assert len(shop.queries) == asked  # the quote uses the copy the lookup just made

    shop.mode = "http_503"
    before = counts()
    slot = next(
        s for s in client.get("/api/v1/pickups/slots", params={"postcode": "10115"}).json() if s["available"]
    )
    created = client.post(
        "/api/v1/returns",
        json={**draft, "address_confirmed": True, "pickup": {"date": slot["date"], "window": slot["window"]}},
        headers={**SERVICE, "Idempotency-Key": f"key-{uuid.uuid4().hex}"},
    )
    assert created.status_code == 503 and created.json()["detail"] == SOURCE_UNAVAILABLE
    assert counts() == before


@sqlite_only
def test_the_bot_tells_the_shopper_to_try_again_when_shopify_is_down(
    shop: FakeShopify, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The action server maps the API's 503 to BackendUnavailable: `utter_backend_unavailable`
    ("... please try again in a moment"), the proof is asked again and no attempt is counted."""
    pytest.importorskip("rasa_sdk")
    import httpx

    from actions import backend
    from actions.returns import ValidateReturnForm
    from api.main import create_app
    from api.settings import get_settings
    from tests.actions.helpers import load_domain, make_tracker, responses, run_action

    monkeypatch.setenv("API_BASE_URL", "http://api.test")
    get_settings.cache_clear()
    monkeypatch.setattr(backend, "_transport", httpx.ASGITransport(app=create_app()))
    shop.mode = "graphql_error"
    domain = load_domain()
    tracker = make_tracker(
        {"requested_slot": "verify_proof", "verify_order_number": "1042"},
        text="jane@example.com",
        candidates={"verify_proof": "jane@example.com"},
        active_loop="return_form",
    )
    events, dispatcher = run_action(ValidateReturnForm(), tracker, domain)
    assert responses(dispatcher) == ["utter_backend_unavailable"]
    assert "try again in a moment" in domain["responses"]["utter_backend_unavailable"][0]["text"]
    assert not any(e.get("name") == "verify_attempts" for e in events)
    assert imported() is None
    assert count(LookupFailure) == 0


@sqlite_only
def test_the_database_source_stays_the_default_and_never_asks_shopify(
    client: Any, shop: FakeShopify, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.settings import get_settings

    monkeypatch.setenv("ORDER_SOURCE", "database")
    get_settings.cache_clear()
    assert lookup(client).status_code == 404  # 1042 is Shopify's, not in the built-in database
    demo = lookup(client, order_number="100231", email="jane@example.com")
    assert demo.status_code == 200 and demo.json()["order_number"] == "100231"
    assert shop.queries == [] and imported() is None
    assert rows(Order, Order.number == "100231")[0].email == "jane@example.com"
