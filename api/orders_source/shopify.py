"""Shopify as the order source: the Admin GraphQL API.

`POST https://<shop>.myshopify.com/admin/api/<version>/graphql.json` with the header
`X-Shopify-Access-Token` (an Admin API token with the `read_orders` scope; orders older than 60
days also need `read_all_orders`). The order is found by its name (`#100231`) and the shopper's
email with the `orders(first:, query:)` connection; the proof (email or shipping postcode) is
then checked here as well, so a loose search match never reveals an order. Line items come from
`lineItems`, shipping and delivery dates from `fulfillments` (`createdAt`, `inTransitAt`,
`deliveredAt`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from api.orders_source.base import (
    OrderLine,
    OrderRecord,
    OrderSourceError,
    digits,
    proof_matches,
    search_value,
)
from api.settings import get_settings

ORDER_QUERY = """
query FindOrder($query: String!) {
  orders(first: 5, query: $query) {
    edges {
      node {
        id
        name
        email
        createdAt
        cancelledAt
        currencyCode
        displayFulfillmentStatus
        shippingAddress { name address1 city zip countryCodeV2 }
        lineItems(first: 100) {
          edges {
            node {
              id
              name
              title
              sku
              quantity
              variantTitle
              originalUnitPriceSet { shopMoney { amount currencyCode } }
              product { id title productType }
              variant { id sku title }
            }
          }
        }
        fulfillments(first: 20) {
          createdAt
          inTransitAt
          deliveredAt
          displayStatus
          status
        }
      }
    }
  }
}
"""


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _nodes(connection: Any) -> list[dict[str, Any]]:
    """Edges or nodes: Shopify connections answer either shape."""
    if not isinstance(connection, dict):
        return list(connection or [])
    if "nodes" in connection:
        return list(connection["nodes"] or [])
    return [edge["node"] for edge in connection.get("edges") or []]


def to_record(node: dict[str, Any]) -> OrderRecord:
    fulfillments = list(node.get("fulfillments") or [])
    shipped = [t for t in (_time(f.get("inTransitAt") or f.get("createdAt")) for f in fulfillments) if t]
    delivered = [t for t in (_time(f.get("deliveredAt")) for f in fulfillments) if t]
    if node.get("cancelledAt"):
        status = "cancelled"
    elif delivered and len(delivered) == len(fulfillments):
        status = "delivered"
    elif shipped or node.get("displayFulfillmentStatus") in ("FULFILLED", "PARTIALLY_FULFILLED"):
        status = "shipped"
    else:
        status = "placed"
    address = node.get("shippingAddress") or {}
    lines = []
    for item in _nodes(node.get("lineItems")):
        money = (item.get("originalUnitPriceSet") or {}).get("shopMoney") or {}
        product = item.get("product") or {}
        variant = item.get("variant") or {}
        lines.append(
            OrderLine(
                id=str(item.get("id", "")),
                name=str(item.get("title") or item.get("name") or ""),
                sku=str(item.get("sku") or variant.get("sku") or ""),
                quantity=int(item.get("quantity") or 0),
                unit_price=Decimal(str(money.get("amount") or "0")),
                variant=str(item.get("variantTitle") or variant.get("title") or ""),
                category=str(product.get("productType") or ""),
                product_id=str(product.get("id") or ""),
                product_title=str(product.get("title") or ""),
                variant_id=str(variant.get("id") or ""),
            )
        )
    created = _time(node.get("createdAt"))
    if created is None:
        raise OrderSourceError("Shopify order without createdAt")
    return OrderRecord(
        source="shopify",
        id=str(node.get("id", "")),
        number=digits(str(node.get("name", ""))),
        email=str(node.get("email") or ""),
        postcode=str(address.get("zip") or ""),
        currency=str(node.get("currencyCode") or "USD"),
        status=status,
        ordered_at=created,
        shipped_at=min(shipped) if shipped else None,
        delivered_at=max(delivered) if delivered and status == "delivered" else None,
        shipping_name=str(address.get("name") or ""),
        address_line1=str(address.get("address1") or ""),
        city=str(address.get("city") or ""),
        country=str(address.get("countryCodeV2") or ""),
        lines=lines,
    )


class ShopifyOrderSource:
    name = "shopify"

    def __init__(
        self,
        shop_url: str,
        access_token: str,
        api_version: str = "2025-01",
        *,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        if not shop_url or not access_token:
            raise OrderSourceError("Shopify needs SHOPIFY_SHOP_URL and SHOPIFY_ACCESS_TOKEN.")
        base = shop_url.rstrip("/")
        if "://" not in base:
            base = "https://" + base
        self.endpoint = f"{base}/admin/api/{api_version}/graphql.json"
        self.access_token = access_token
        self.timeout = timeout
        self.client = client

    @classmethod
    def from_settings(cls, **kwargs: Any) -> ShopifyOrderSource:
        s = get_settings()
        return cls(
            s.shopify_shop_url,
            s.shopify_access_token.get_secret_value(),
            s.shopify_api_version,
            timeout=s.shopify_timeout,
            **kwargs,
        )

    def _post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        headers = {"X-Shopify-Access-Token": self.access_token, "Content-Type": "application/json"}
        body = {"query": query, "variables": variables}
        try:
            if self.client is not None:
                response = self.client.post(self.endpoint, json=body, headers=headers, timeout=self.timeout)
            else:
                with httpx.Client() as own:
                    response = own.post(self.endpoint, json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise OrderSourceError(f"Shopify did not answer: {exc}") from exc
        if response.status_code != 200:
            raise OrderSourceError(f"Shopify answered {response.status_code}: {response.text[:200]}")
        try:
            payload = response.json()
        except ValueError:
            raise OrderSourceError("Shopify sent something that is not JSON.") from None
        if not isinstance(payload, dict):
            raise OrderSourceError("Shopify sent JSON that is not an object.")
        if payload.get("errors"):
            messages = (
                "; ".join(
                    str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in payload["errors"]
                )
                if isinstance(payload["errors"], list)
                else str(payload["errors"])
            )
            raise OrderSourceError(f"Shopify GraphQL error: {messages}")
        return dict(payload.get("data") or {})

    def find(
        self, *, order_number: str, email: str | None = None, postcode: str | None = None
    ) -> OrderRecord | None:
        if not (email or postcode):
            return None
        number = digits(order_number)
        if not number:
            return None
        terms = [f"name:{search_value('#' + number)}"]
        if email:
            terms.append(f"email:{search_value(email.strip())}")
        data = self._post(ORDER_QUERY, {"query": " AND ".join(terms)})
        try:
            records = [to_record(node) for node in _nodes(data.get("orders") or {})]
        except OrderSourceError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
            # A reply that is not the documented shape is the source failing, never "no such order".
            raise OrderSourceError(f"Shopify sent an order in an unexpected shape: {exc!r}") from exc
        for record in records:
            if record.number != number:
                continue  # the name search is fuzzy; only the exact number counts
            if proof_matches(record.email, record.postcode, email, postcode):
                return record
        return None
