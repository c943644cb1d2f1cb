"""Small builders for policy tests: a fixed "today", items, photos and cases with sensible defaults."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from policy import CustomerHistory, DamageEvidence, ItemFacts, OrderFacts, ReturnCase

TODAY = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "policy" / "examples"


def photo(
    probability: float = 0.9,
    confidence: float = 0.9,
    *,
    ok: bool = True,
    issues: tuple[str, ...] = (),
    message: str = "",
    unusable: float = 0.0,
) -> DamageEvidence:
    severity = "severe" if probability >= 0.7 else "minor" if probability > 0.3 else "none"
    return DamageEvidence(
        damage_probability=probability,
        confidence=confidence,
        severity=severity,
        quality_ok=ok,
        quality_issues=issues,
        quality_message=message,
        unusable_probability=unusable,
    )


def dark_photo() -> DamageEvidence:
    return photo(
        0.5,
        0.2,
        ok=False,
        issues=("too_dark",),
        message="That photo is too dark, please retake it in better light.",
    )


def item(**changes: Any) -> ItemFacts:
    base = ItemFacts(
        item_id="1",
        name="running shoes",
        category="footwear",
        price=Decimal("120.00"),
        reason_code="doesnt_fit",
    )
    if "price" in changes:
        changes["price"] = Decimal(str(changes["price"]))
    return dataclasses.replace(base, **changes)


def case(
    *items: ItemFacts,
    days_ago: int | None = 5,
    status: str = "delivered",
    returns_days_ago: tuple[int, ...] = (),
    rejected: int = 0,
    resolution: str | None = None,
    today: dt.datetime = TODAY,
    delivered_at: dt.datetime | None = None,
) -> ReturnCase:
    if delivered_at is None and days_ago is not None:
        delivered_at = today - dt.timedelta(days=days_ago)
    return ReturnCase(
        order=OrderFacts("100231", status, delivered_at),
        items=items or (item(),),
        today=today,
        customer=CustomerHistory(
            return_dates=tuple(today - dt.timedelta(days=d) for d in returns_days_ago),
            rejected_returns=rejected,
        ),
        resolution=resolution,
    )


def example_data(order_number: str) -> dict[str, Any]:
    (path,) = EXAMPLES.glob(f"{order_number}_*.json")
    return json.loads(path.read_text())


def example_case(order_number: str, today: dt.datetime = TODAY) -> ReturnCase:
    return ReturnCase.from_dict(example_data(order_number), today)
