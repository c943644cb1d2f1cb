"""Where orders come from: the built-in database or the shop platform (Shopify), by settings.

`get_order_source()` picks the implementation from `ORDER_SOURCE` (database | shopify). Both
answer `find(order_number=..., email=... | postcode=...)` with an `OrderRecord` when the proof
matches and None for a wrong number and a wrong proof alike (never a hint which one was wrong).

The API reads orders through `api.services.orders.resolve_order`: with `shopify` the order
Shopify confirms is imported into the local tables (importer.py) so returns work on it
unchanged; a source that cannot answer is a 503, never "not found" (docs/after-chat.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.orders_source.base import OrderLine, OrderRecord, OrderSource, OrderSourceError
from api.settings import get_settings


def get_order_source(session: Session | None = None, **kwargs: Any) -> OrderSource:
    name = get_settings().order_source
    if name == "database":
        from api.orders_source.database import DatabaseOrderSource

        return DatabaseOrderSource(session)
    if name == "shopify":
        from api.orders_source.shopify import ShopifyOrderSource

        return ShopifyOrderSource.from_settings(**kwargs)
    raise OrderSourceError(f"Unknown ORDER_SOURCE {name!r}; use database or shopify.")


__all__ = ["OrderLine", "OrderRecord", "OrderSource", "OrderSourceError", "get_order_source"]
