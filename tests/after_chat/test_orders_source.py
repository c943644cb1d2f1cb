"""The order source interface: the built-in database and Shopify's Admin GraphQL API, the latter
against a loopback server answering with the documented response shapes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from api.orders_source import OrderSourceError, get_order_source
from api.orders_source.shopify import ShopifyOrderSource
from tests.after_chat.shopify_fake import TOKEN, FakeShopify


@pytest.mark.parametrize("mode", ["edges", "nodes"])
def test_shopify_finds_an_order_by_name_and_email(shopify: FakeShopify, mode: str) -> None:
    shopify.mode = mode
    source = get_order_source()
    assert source.name == "shopify"
    order = source.find(order_number="ORD-1042", email="jane@example.com")
    assert order is not None
    assert shopify.queries[-1] == 'name:"#1042" AND email:"jane@example.com"'
    assert (order.source, order.number, order.currency, order.status) == (
        "shopify",
        "1042",
        "EUR",
        "delivered",
    )
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
