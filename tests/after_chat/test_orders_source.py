"""The order source interface: the built-in database and Shopify's Admin GraphQL API, the latter
against a loopback server answering with the documented response shapes."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from api.orders_source import OrderSourceError, get_order_source
from api.orders_source.shopify import ShopifyOrderSource

TOKEN = "shpat_test_token"

ORDER_NODE = {
    "id": "gid://shopify/Order/5512345678",
    "name": "#1042",
    "email": "Jane@Example.com",
    "createdAt": "2026-01-02T10:00:00Z",
    "cancelledAt": None,
    "currencyCode": "EUR",
    "displayFulfillmentStatus": "FULFILLED",
    "shippingAddress": {"name": "Jane Doe", "address1": "1 Main St", "city": "Berlin",
                        "zip": "10115", "countryCodeV2": "DE"},
    "lineItems": {"edges": [
        {"node": {"id": "gid://shopify/LineItem/1", "name": "Running shoes - EU 42",
                  "title": "Running shoes", "sku": "SHOE-42", "quantity": 1, "variantTitle": "EU 42",
                  "originalUnitPriceSet": {"shopMoney": {"amount": "120.0", "currencyCode": "EUR"}},
                  "product": {"productType": "footwear"}}},
        {"node": {"id": "gid://shopify/LineItem/2", "name": "T-shirt - M", "title": "T-shirt",
                  "sku": "TEE-M", "quantity": 2, "variantTitle": "M",
                  "originalUnitPriceSet": {"shopMoney": {"amount": "25.5", "currencyCode": "EUR"}},
                  "product": {"productType": "apparel"}}},
    ]},
    "fulfillments": [{"createdAt": "2026-01-03T09:00:00Z", "inTransitAt": "2026-01-03T15:00:00Z",
                      "deliveredAt": "2026-01-05T11:30:00Z", "displayStatus": "DELIVERED",
                      "status": "SUCCESS"}],
}


class FakeShopify:
    def __init__(self) -> None:
        self.queries: list[str] = []
        self.mode = "edges"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/admin/api/2025-01/graphql.json":
                    return self._send(404, {"errors": "Not Found"})
                if self.headers.get("X-Shopify-Access-Token") != TOKEN:
                    return self._send(401, {"errors": "[API] Invalid API key or access token "
                                                      "(unrecognized login or wrong password)"})
                if outer.mode == "graphql_error":
                    return self._send(200, {"errors": [{"message": "Throttled",
                                                        "extensions": {"code": "THROTTLED"}}]})
                query = body["variables"]["query"]
                outer.queries.append(query)
                name = re.search(r'name:"([^"]*)"', query)
                email = re.search(r'email:"([^"]*)"', query)
                hit = (name and name.group(1) == ORDER_NODE["name"]
                       and (email is None or email.group(1).lower() == ORDER_NODE["email"].lower()))
                nodes = [ORDER_NODE] if hit else []
                orders = ({"nodes": nodes} if outer.mode == "nodes"
                          else {"edges": [{"node": n, "cursor": "c1"} for n in nodes]})
                return self._send(200, {"data": {"orders": orders}, "extensions": {"cost": {
                    "requestedQueryCost": 12, "actualQueryCost": 6}}})

            def _send(self, code: int, payload: Any) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shopify(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeShopify]:
    from api.settings import get_settings

    fake = FakeShopify()
    monkeypatch.setenv("ORDER_SOURCE", "shopify")
    monkeypatch.setenv("SHOPIFY_SHOP_URL", fake.url)
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", TOKEN)
    get_settings.cache_clear()
    yield fake
    fake.close()
    get_settings.cache_clear()


@pytest.mark.parametrize("mode", ["edges", "nodes"])
def test_shopify_finds_an_order_by_name_and_email(shopify: FakeShopify, mode: str) -> None:
    shopify.mode = mode
    source = get_order_source()
    assert source.name == "shopify"
    order = source.find(order_number="ORD-1042", email="jane@example.com")
    assert order is not None
    assert shopify.queries[-1] == 'name:"#1042" AND email:"jane@example.com"'
    assert (order.source, order.number, order.currency, order.status) == (
        "shopify", "1042", "EUR", "delivered")
    assert order.postcode == "10115" and order.country == "DE" and order.shipping_name == "Jane Doe"
    assert order.ordered_at.isoformat() == "2026-01-02T10:00:00+00:00"
    assert order.shipped_at is not None and order.shipped_at.isoformat() == "2026-01-03T15:00:00+00:00"
    assert order.delivered_at is not None and order.delivered_at.day == 5
    assert [(li.name, li.sku, li.quantity, li.unit_price, li.variant, li.category) for li in order.lines] == [
        ("Running shoes", "SHOE-42", 1, Decimal("120.0"), "EU 42", "footwear"),
        ("T-shirt", "TEE-M", 2, Decimal("25.5"), "M", "apparel"),
    ]


def test_shopify_wrong_proof_and_postcode_proof(shopify: FakeShopify) -> None:
    source = get_order_source()
    assert source.find(order_number="1042", email="someone@else.com") is None
    assert source.find(order_number="1043", email="jane@example.com") is None
    assert source.find(order_number="1042") is None  # no proof: not even asked
    assert source.find(order_number="#1042", postcode="10 115") is not None
    assert source.find(order_number="#1042", postcode="99999") is None


def test_shopify_failures_are_errors_not_missing_orders(shopify: FakeShopify) -> None:
    shopify.mode = "graphql_error"
    with pytest.raises(OrderSourceError, match="Throttled"):
        get_order_source().find(order_number="1042", email="jane@example.com")
    shopify.mode = "edges"
    bad = ShopifyOrderSource(shopify.url, "wrong-token")
    with pytest.raises(OrderSourceError, match="401"):
        bad.find(order_number="1042", email="jane@example.com")
    from tests.support import free_port

    down = ShopifyOrderSource(f"http://127.0.0.1:{free_port()}", TOKEN, timeout=2)
    with pytest.raises(OrderSourceError, match="did not answer"):
        down.find(order_number="1042", email="jane@example.com")
    with pytest.raises(OrderSourceError):
        ShopifyOrderSource("", "")


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_database_source_is_the_default_and_answers_the_same_shape(database: str) -> None:
    source = get_order_source()
    assert source.name == "database"
    order = source.find(order_number="#100231", email="JANE@example.com")
    assert order is not None and order.source == "database" and order.number == "100231"
    assert order.status == "delivered" and order.delivered_at is not None
    assert [li.name for li in order.lines][:1] and all(li.unit_price > 0 for li in order.lines)
    assert source.find(order_number="100231", email="raj@example.com") is None
    assert source.find(order_number="100231", postcode="10001") is not None


def test_unknown_source_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import get_settings

    monkeypatch.setenv("ORDER_SOURCE", "magento")
    get_settings.cache_clear()
    try:
        with pytest.raises(OrderSourceError, match="magento"):
            get_order_source()
    finally:
        get_settings.cache_clear()
