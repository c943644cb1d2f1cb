"""Typed outputs: the decision for a return case, per item and overall."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

Outcome = Literal["approve", "reject", "review", "need_photos"]
Effect = Literal["approve", "reject", "review", "need_photos", "info"]
AskReason = Literal["retake", "more"]

# Most restrictive first: a returnable item's outcome is the first of these its rules produce.
OUTCOME_ORDER: tuple[Outcome, ...] = ("reject", "need_photos", "review", "approve")


@dataclass(frozen=True)
class RuleHit:
    """One rule that fired, with a stable code and an explanation for each audience."""

    code: str
    effect: Effect
    shopper_message: str
    merchant_detail: str
    item_id: str | None = None  # None: the rule is about the whole case

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "effect": self.effect,
            "shopper_message": self.shopper_message,
            "merchant_detail": self.merchant_detail,
            "item_id": self.item_id,
        }


@dataclass(frozen=True)
class Fee:
    code: str
    label: str
    amount: Decimal
    item_id: str | None = None  # None: charged once for the whole return

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "amount": str(self.amount), "item_id": self.item_id}


@dataclass(frozen=True)
class AskFor:
    """What to ask the shopper for before a decision can be made."""

    photos: int = 0
    reason: AskReason | None = None
    message: str = ""
    item_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "photos": self.photos,
            "reason": self.reason,
            "message": self.message,
            "item_ids": list(self.item_ids),
        }


@dataclass(frozen=True)
class ItemDecision:
    item_id: str
    name: str
    outcome: Outcome
    resolutions: tuple[str, ...]
    keep_item: bool
    paid: Decimal
    refund_amount: Decimal  # paid minus this item's own fees (shipping fees are per return)
    fees: tuple[Fee, ...] = ()
    ask_for: AskFor = field(default_factory=AskFor)
    rules: tuple[RuleHit, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "name": self.name,
            "outcome": self.outcome,
            "resolutions": list(self.resolutions),
            "keep_item": self.keep_item,
            "paid": str(self.paid),
            "refund_amount": str(self.refund_amount),
            "fees": [fee.to_dict() for fee in self.fees],
            "ask_for": self.ask_for.to_dict(),
            "rules": [rule.code for rule in self.rules],
        }


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    resolutions: tuple[str, ...]
    store_credit_bonus_pct: Decimal
    keep_item: bool
    refund_amount: Decimal
    fees: tuple[Fee, ...]
    ask_for: AskFor
    rules: tuple[RuleHit, ...]
    policy_version: str
    shopper_summary: str
    items: tuple[ItemDecision, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(rule.code for rule in self.rules)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "resolutions": list(self.resolutions),
            "store_credit_bonus_pct": _plain(self.store_credit_bonus_pct),
            "keep_item": self.keep_item,
            "refund_amount": str(self.refund_amount),
            "fees": [fee.to_dict() for fee in self.fees],
            "ask_for": self.ask_for.to_dict(),
            "rules": [rule.to_dict() for rule in self.rules],
            "policy_version": self.policy_version,
            "shopper_summary": self.shopper_summary,
            "items": [item.to_dict() for item in self.items],
        }


def _plain(number: Decimal) -> str:
    """10.00 -> "10", 12.50 -> "12.5"."""
    return format(number.normalize(), "f")
