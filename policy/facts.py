"""Typed inputs of a decision: the order, its items, the shopper's history, the photos.

All are frozen dataclasses. Money is Decimal, times are time-zone aware. `from_dict`
builds them from JSON-like data (the CLI and the API use it) and raises PolicyError with
the place of each bad field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policy.config import PolicyError, PolicyIssue
from policy.money import to_money

ORDER_STATUSES = ("placed", "shipped", "delivered", "cancelled")


def _aware(value: dt.datetime, place: str) -> dt.datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise PolicyError([PolicyIssue(place, "must be time-zone aware")])
    return value


@dataclass(frozen=True)
class DamageEvidence:
    """The damage model's verdict on one photo (vision's Assessment dict, flattened)."""

    damage_probability: float
    confidence: float
    severity: str = "none"
    damage_type: str | None = None
    quality_ok: bool = True
    quality_issues: tuple[str, ...] = ()
    quality_message: str = ""
    unusable_probability: float = 0.0
    photo_id: str | None = None

    @classmethod
    def from_assessment(cls, data: Mapping[str, Any], photo_id: str | None = None) -> DamageEvidence:
        quality = data.get("quality") or {}
        return cls(
            damage_probability=float(data["damage_probability"]),
            confidence=float(data.get("confidence", 1.0)),
            severity=str(data.get("severity", "none")),
            damage_type=data.get("damage_type"),
            quality_ok=bool(quality.get("ok", True)),
            quality_issues=tuple(quality.get("issues", ())),
            quality_message=str(quality.get("message", "")),
            unusable_probability=float(data.get("unusable_probability", 0.0)),
            photo_id=photo_id or data.get("photo_id"),
        )


@dataclass(frozen=True)
class ItemFacts:
    """One order line the shopper wants to return, with the reason and the photos sent."""

    item_id: str
    name: str
    category: str
    price: Decimal  # paid per unit, after discounts
    reason_code: str
    quantity: int = 1  # units the shopper wants to return now
    quantity_ordered: int = 1
    quantity_returned: int = 0  # units already returned earlier
    final_sale: bool = False
    fragile: bool = False
    reason_text: str = ""
    photos: tuple[DamageEvidence, ...] = ()  # one per assessed photo
    photo_count: int | None = None  # photos received; None: len(photos)
    exchange_in_stock: bool | None = None  # None: no variant chosen yet

    def __post_init__(self) -> None:
        place = f"items[{self.item_id}]"
        if not isinstance(self.price, Decimal) or not self.price.is_finite() or self.price < 0:
            raise PolicyError([PolicyIssue(f"{place}.price", "must be a Decimal, 0 or more")])
        if min(self.quantity, self.quantity_ordered, self.quantity_returned) < 0:
            raise PolicyError([PolicyIssue(f"{place}.quantity", "quantities must be 0 or more")])

    @property
    def paid(self) -> Decimal:
        return self.price * self.quantity

    @property
    def returnable_quantity(self) -> int:
        return max(self.quantity_ordered - self.quantity_returned, 0)

    @property
    def photos_received(self) -> int:
        count = len(self.photos) if self.photo_count is None else self.photo_count
        return max(count, len(self.photos))


@dataclass(frozen=True)
class OrderFacts:
    order_number: str
    status: str  # placed | shipped | delivered | cancelled
    delivered_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.delivered_at is not None:
            _aware(self.delivered_at, "order.delivered_at")

    @property
    def delivered(self) -> bool:
        return self.status == "delivered" and self.delivered_at is not None


@dataclass(frozen=True)
class CustomerHistory:
    return_dates: tuple[dt.datetime, ...] = ()  # when each earlier return was started
    rejected_returns: int = 0

    def __post_init__(self) -> None:
        for index, when in enumerate(self.return_dates):
            _aware(when, f"customer.return_dates[{index}]")


@dataclass(frozen=True)
class ReturnCase:
    order: OrderFacts
    items: tuple[ItemFacts, ...]
    today: dt.datetime  # injected "now", time-zone aware
    customer: CustomerHistory = field(default_factory=CustomerHistory)
    resolution: str | None = None  # the resolution the shopper chose, if any

    def __post_init__(self) -> None:
        _aware(self.today, "today")
        if not self.items:
            raise PolicyError([PolicyIssue("items", "must list at least one item")])
        ids = [item.item_id for item in self.items]
        if len(set(ids)) != len(ids):
            raise PolicyError([PolicyIssue("items", "item_id must be unique")])

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], today: dt.datetime | None = None, *, tz: dt.tzinfo = dt.UTC
    ) -> ReturnCase:
        """Build a case from JSON-like data (see docs/policy.md, "Explain a case")."""
        return case_from_dict(data, today, tz=tz)


# --- parsing JSON-like data ----------------------------------------------------------------


def parse_moment(value: object, place: str, tz: dt.tzinfo = dt.UTC) -> dt.datetime:
    """An ISO date or aware datetime; a bare date means noon that day in `tz`."""
    if isinstance(value, dt.datetime):
        return _aware(value, place)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(12), tzinfo=tz)
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(12), tzinfo=tz)
            return _aware(dt.datetime.fromisoformat(value), place)
        except ValueError:
            pass
    raise PolicyError([PolicyIssue(place, "must be a date (YYYY-MM-DD) or an ISO time with offset")])


def _days_ago(today: dt.datetime, value: object, place: str) -> dt.datetime:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyError([PolicyIssue(place, "must be a whole number of days, 0 or more")])
    return today - dt.timedelta(days=value)


def _evidence(data: object, place: str) -> DamageEvidence:
    if not isinstance(data, Mapping) or "damage_probability" not in data:
        raise PolicyError([PolicyIssue(place, "must be an assessment with damage_probability")])
    try:
        return DamageEvidence.from_assessment(data)
    except (TypeError, ValueError) as exc:
        raise PolicyError([PolicyIssue(place, f"bad assessment: {exc}")]) from None


def _item(data: Mapping[str, Any], place: str) -> ItemFacts:
    try:
        price = to_money(data["price"])
    except KeyError:
        raise PolicyError([PolicyIssue(f"{place}.price", "is required")]) from None
    except ValueError as exc:
        raise PolicyError([PolicyIssue(f"{place}.price", str(exc))]) from None
    try:
        photos = tuple(
            _evidence(photo, f"{place}.photos[{i}]") for i, photo in enumerate(data.get("photos", ()))
        )
        return ItemFacts(
            item_id=str(data["item_id"]),
            name=str(data.get("name", data["item_id"])),
            category=str(data.get("category", "default")),
            price=price,
            reason_code=str(data["reason_code"]),
            quantity=int(data.get("quantity", 1)),
            quantity_ordered=int(data.get("quantity_ordered", data.get("quantity", 1))),
            quantity_returned=int(data.get("quantity_returned", 0)),
            final_sale=bool(data.get("final_sale", False)),
            fragile=bool(data.get("fragile", False)),
            reason_text=str(data.get("reason_text", "")),
            photos=photos,
            photo_count=data.get("photo_count"),
            exchange_in_stock=data.get("exchange_in_stock"),
        )
    except KeyError as exc:
        raise PolicyError([PolicyIssue(f"{place}.{exc.args[0]}", "is required")]) from None
    except ValueError as exc:
        raise PolicyError([PolicyIssue(place, str(exc))]) from None


def _order(data: Mapping[str, Any], today: dt.datetime) -> OrderFacts:
    delivered_at: dt.datetime | None = None
    if data.get("delivered_at") is not None:
        delivered_at = parse_moment(data["delivered_at"], "order.delivered_at", today.tzinfo or dt.UTC)
    elif data.get("delivered_days_ago") is not None:
        delivered_at = _days_ago(today, data["delivered_days_ago"], "order.delivered_days_ago")
    status = str(data.get("status", "delivered" if delivered_at else "shipped"))
    if status not in ORDER_STATUSES:
        raise PolicyError([PolicyIssue("order.status", "must be one of " + ", ".join(ORDER_STATUSES))])
    return OrderFacts(str(data.get("order_number", "")), status, delivered_at)


def _customer(data: Mapping[str, Any], today: dt.datetime) -> CustomerHistory:
    tz = today.tzinfo or dt.UTC
    dates = [
        parse_moment(d, f"customer.return_dates[{i}]", tz) for i, d in enumerate(data.get("return_dates", ()))
    ]
    dates += [
        _days_ago(today, d, f"customer.returns_days_ago[{i}]")
        for i, d in enumerate(data.get("returns_days_ago", ()))
    ]
    return CustomerHistory(tuple(dates), int(data.get("rejected_returns", 0)))


def case_from_dict(
    data: Mapping[str, Any], today: dt.datetime | None = None, *, tz: dt.tzinfo = dt.UTC
) -> ReturnCase:
    """`today` wins over the data's own "today"; one of them is required.

    Bare dates are read as noon in `tz` (pass the policy's time zone).
    """
    if today is None:
        if "today" not in data:
            raise PolicyError([PolicyIssue("today", "is required")])
        today = parse_moment(data["today"], "today", tz)
    items: Sequence[Any] = data.get("items") or ()
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise PolicyError([PolicyIssue("items", "must be a list")])
    return ReturnCase(
        order=_order(data.get("order") or {}, today),
        items=tuple(_item(item, f"items[{i}]") for i, item in enumerate(items)),
        today=today,
        customer=_customer(data.get("customer") or {}, today),
        resolution=data.get("resolution"),
    )
