"""A Shopify Admin GraphQL API on loopback, answering with the documented response shapes.

Shared by the order source tests (tests/after_chat/test_orders_source.py) and the API tests with
ORDER_SOURCE=shopify (tests/after_chat/test_shopify_orders.py); the `shopify` fixture lives in
tests/after_chat/conftest.py.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

TOKEN = "shpat_test_token"
API_PATH = "/admin/api/2025-01/graphql.json"

ORDER_NODE: dict[str, Any] = {
    "id": "gid://shopify/Order/5512345678",
    "name": "#1042",
    "email": "Jane@Example.com",
    "createdAt": "2026-01-02T10:00:00Z",
    "cancelledAt": None,
    "currencyCode": "EUR",
    "displayFulfillmentStatus": "FULFILLED",
    "shippingAddress": {
        "name": "Jane Doe",
        "address1": "1 Main St",
        "city": "Berlin",
        "zip": "10115",
        "countryCodeV2": "DE",
    },
    "lineItems": {
        "edges": [
            {
                "node": {
                    "id": "gid://shopify/LineItem/1",
                    "name": "Running shoes - EU 42",
                    "title": "Running shoes",
                    "sku": "SHOE-42",
                    "quantity": 1,
                    "variantTitle": "EU 42",
                    "originalUnitPriceSet": {"shopMoney": {"amount": "120.0", "currencyCode": "EUR"}},
                    "product": {"productType": "footwear"},
                }
            },
            {
                "node": {
                    "id": "gid://shopify/LineItem/2",
                    "name": "T-shirt - M",
                    "title": "T-shirt",
                    "sku": "TEE-M",
                    "quantity": 2,
                    "variantTitle": "M",
                    "originalUnitPriceSet": {"shopMoney": {"amount": "25.5", "currencyCode": "EUR"}},
                    "product": {"productType": "apparel"},
                }
            },
        ]
    },
    "fulfillments": [
        {
            "createdAt": "2026-01-03T09:00:00Z",
            "inTransitAt": "2026-01-03T15:00:00Z",
            "deliveredAt": "2026-01-05T11:30:00Z",
            "displayStatus": "DELIVERED",
            "status": "SUCCESS",
        }
    ],
}

THROTTLED = {
    "errors": [
        {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
    ],
    "extensions": {
        "cost": {
            "requestedQueryCost": 612,
            "actualQueryCost": None,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 40, "restoreRate": 100.0},
        }
    },
}


class FakeShopify:
    """`mode`: edges | nodes (the two connection shapes), graphql_error (THROTTLED in a 200),
    http_503 (Shopify's "service unavailable" page). `orders` are the order nodes it knows."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.mode = "edges"
        self.orders: list[dict[str, Any]] = [copy.deepcopy(ORDER_NODE)]
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != API_PATH:
                    return self._send(404, {"errors": "Not Found"})
                if self.headers.get("X-Shopify-Access-Token") != TOKEN:
                    return self._send(
                        401,
                        {
                            "errors": "[API] Invalid API key or access token "
                            "(unrecognized login or wrong password)"
                        },
                    )
                if outer.mode == "graphql_error":
                    return self._send(200, THROTTLED)
                if outer.mode == "http_503":
                    return self._send(503, {"errors": "Service Unavailable"})
                query = body["variables"]["query"]
                outer.queries.append(query)
                name = re.search(r'name:"([^"]*)"', query)
                email = re.search(r'email:"([^"]*)"', query)
                nodes = [
                    node
                    for node in outer.orders
                    if name
                    and name.group(1) == node["name"]
                    and (email is None or email.group(1).lower() == str(node["email"]).lower())
                ]
                orders = (
                    {"nodes": nodes}
                    if outer.mode == "nodes"
                    else {"edges": [{"node": n, "cursor": "c1"} for n in nodes]}
                )
                return self._send(
                    200,
                    {
                        "data": {"orders": orders},
                        "extensions": {"cost": {"requestedQueryCost": 12, "actualQueryCost": 6}},
                    },
                )

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


def use_shopify(monkeypatch: pytest.MonkeyPatch, url: str, *, timeout: float = 3.0) -> None:
    """ORDER_SOURCE=shopify pointing at `url`."""
    from api.settings import get_settings

    monkeypatch.setenv("ORDER_SOURCE", "shopify")
    monkeypatch.setenv("SHOPIFY_SHOP_URL", url)
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("SHOPIFY_TIMEOUT", str(timeout))
    get_settings.cache_clear()
