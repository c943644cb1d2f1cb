"""The order source interface and the shape every implementation answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol


class OrderSourceError(Exception):
    """The source could not answer (network, credentials, malformed reply): not 'no such order'."""


@dataclass(frozen=True)
class OrderLine:
    id: str
    name: str
    sku: str
    quantity: int
    unit_price: Decimal
    variant: str = ""
    category: str = ""
    # The platform's own ids (Shopify GIDs), when it has them: the import keys products on them.
    product_id: str = ""
    product_title: str = ""
    variant_id: str = ""


@dataclass(frozen=True)
class OrderRecord:
    source: str  # database | shopify
    id: str
    number: str  # digits only, as the chat normalises them ("100231")
    email: str
    postcode: str
    currency: str
    status: str  # placed | shipped | delivered | cancelled
    ordered_at: datetime
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    shipping_name: str = ""
    address_line1: str = ""
    city: str = ""
    country: str = ""
    lines: list[OrderLine] = field(default_factory=list)


class OrderSource(Protocol):
    name: str

    def find(
        self, *, order_number: str, email: str | None = None, postcode: str | None = None
    ) -> OrderRecord | None: ...


def proof_matches(record_email: str, record_postcode: str, email: str | None, postcode: str | None) -> bool:
    from api.services.orders import normalise_postcode

    if email and record_email.strip().lower() == email.strip().lower():
        return True
    return bool(
        postcode and record_postcode and normalise_postcode(record_postcode) == normalise_postcode(postcode)
    )


def digits(order_number: str) -> str:
    from api.services.orders import normalise_order_number

    return normalise_order_number(order_number)


def search_value(value: str) -> str:
    """A value for Shopify's search syntax: quoted, with quotes and backslashes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
