"""The rules: each a pure function of the facts and the policy that returns the hits it fires.

Item rules take an `ItemContext`; case rules take the case and the policy. None of them read
the clock, the disk or the network: "today" comes in the case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from policy.config import Policy, ReasonRule
from policy.decision import Effect, RuleHit
from policy.facts import DamageEvidence, ItemFacts, ReturnCase
from policy.messages import TEMPLATES
from policy.money import ZERO, format_money, quantize


def hit(
    code: str, effect: Effect, item_id: str | None, template: str | None = None, **fields: object
) -> RuleHit:
    shopper, merchant = TEMPLATES[template or code]
    return RuleHit(code, effect, shopper.format(**fields), merchant.format(**fields), item_id)


@dataclass(frozen=True)
class ItemContext:
    case: ReturnCase
    item: ItemFacts
    policy: Policy

    @property
    def reason(self) -> ReasonRule | None:
        return self.policy.reason(self.item.reason_code)

    def money(self, amount: Decimal) -> str:
        return format_money(amount, self.policy.currency)

    def hit(self, code: str, effect: Effect, template: str | None = None, **fields: object) -> RuleHit:
        fields.setdefault("name", self.item.name)
        fields.setdefault("reason", self.item.reason_code)
        return hit(code, effect, self.item.item_id, template, **fields)


def local_date(moment: dt.datetime, policy: Policy) -> dt.date:
    return moment.astimezone(policy.tz).date()


def days_since_delivery(ctx: ItemContext) -> int | None:
    delivered_at = ctx.case.order.delivered_at
    if not ctx.case.order.delivered or delivered_at is None:
        return None
    days = (local_date(ctx.case.today, ctx.policy) - local_date(delivered_at, ctx.policy)).days
    return max(days, 0)


# --- eligibility: may this item be returned at all? -------------------------------------


def delivery_rule(ctx: ItemContext) -> list[RuleHit]:
    if ctx.case.order.delivered:
        return []
    return [ctx.hit("not_delivered", "reject", status=ctx.case.order.status)]


def final_sale_rule(ctx: ItemContext) -> list[RuleHit]:
    if not ctx.item.final_sale:
        return []
    if ctx.item.reason_code in ctx.policy.final_sale.review_reasons:
        return [ctx.hit("final_sale.review", "review")]
    return [ctx.hit("final_sale", "reject")]


def quantity_rule(ctx: ItemContext) -> list[RuleHit]:
    item = ctx.item
    fields: dict[str, Any] = {
        "returned": item.quantity_returned,
        "ordered": item.quantity_ordered,
        "returnable": item.returnable_quantity,
        "quantity": item.quantity,
    }
    if item.returnable_quantity <= 0:
        return [ctx.hit("already_returned", "reject", **fields)]
    if item.quantity > item.returnable_quantity or item.quantity <= 0:
        return [ctx.hit("quantity.exceeds_returnable", "reject", **fields)]
    return []


def window_rule(ctx: ItemContext) -> list[RuleHit]:
    days = days_since_delivery(ctx)
    delivered_at = ctx.case.order.delivered_at
    if days is None or delivered_at is None:
        return []
    category = ctx.item.category
    window_key = category if category in ctx.policy.windows else "default"
    window = ctx.policy.windows[window_key]
    fields: dict[str, Any] = {
        "days": days,
        "window": window,
        "window_key": window_key,
        "delivered": local_date(delivered_at, ctx.policy).isoformat(),
        "what": f"{category} items" if window_key != "default" else "items",
        "left": window - days,
    }
    if days > window:
        return [ctx.hit("window.expired", "reject", **fields)]
    return [ctx.hit("window.ok", "info", **fields)]


ELIGIBILITY_RULES = (delivery_rule, final_sale_rule, quantity_rule, window_rule)


# --- the reason and its evidence -----------------------------------------------------------


ACTION_EFFECTS: dict[str, Effect] = {
    "auto_approve": "approve",
    "manual_review": "review",
    "auto_reject": "reject",
}


def reason_rule(ctx: ItemContext) -> list[RuleHit]:
    rule = ctx.reason
    if rule is None:
        return [ctx.hit("reason.unknown", "review")]
    effect = ACTION_EFFECTS[rule.action]
    return [ctx.hit(f"reason.{rule.action}", effect, label=rule.label)]


def usable_photos(ctx: ItemContext) -> tuple[DamageEvidence, ...]:
    limit = ctx.policy.damage.max_unusable_probability
    return tuple(p for p in ctx.item.photos if p.quality_ok and p.unusable_probability <= limit)


def _photos_word(count: int) -> str:
    return "photo" if count == 1 else "photos"


def photos_required(ctx: ItemContext) -> int:
    return ctx.policy.photos_required(ctx.item.reason_code, ctx.item.category, ctx.item.price)


def photo_rule(ctx: ItemContext) -> list[RuleHit]:
    """Enough usable photos? Photos that fail the quality gate are asked again, never held against."""
    required = photos_required(ctx)
    usable = usable_photos(ctx)
    unassessed = ctx.item.photos_received - len(ctx.item.photos)
    good = len(usable) + unassessed
    if required == 0:
        return []
    if good >= required:
        return [ctx.hit("photos.ok", "info", usable=good, required=required)]
    missing = required - good
    bad = [p for p in ctx.item.photos if p not in usable]
    fields: dict[str, Any] = {
        "missing": missing,
        "photos": _photos_word(missing),
        "required": required,
        "received": ctx.item.photos_received,
        "category": ctx.item.category,
        "usable": good,
    }
    if bad:
        quality_message = next((p.quality_message for p in bad if p.quality_message), "")
        issues = sorted({issue for p in bad for issue in p.quality_issues}) or ["unusable"]
        return [
            ctx.hit(
                "photos.retake",
                "need_photos",
                quality_message=quality_message or "We couldn't use that photo.",
                bad=len(bad),
                issues=", ".join(issues),
                **fields,
            )
        ]
    return [ctx.hit("photos.missing", "need_photos", **fields)]


def _strongest(photos: tuple[DamageEvidence, ...]) -> DamageEvidence:
    return max(photos, key=lambda p: (p.damage_probability, p.confidence))


def damage_rule(ctx: ItemContext) -> list[RuleHit]:
    """For damage claims: clearly damaged approves, clearly undamaged or unclear goes to review."""
    rule = ctx.reason
    if rule is None or not rule.assess_damage:
        return []
    usable = usable_photos(ctx)
    if not usable:
        return [ctx.hit("damage.unassessed", "review", received=ctx.item.photos_received, assessed=0)]
    best = _strongest(usable)
    settings = ctx.policy.damage
    confident = best.confidence >= settings.min_confidence
    fields: dict[str, Any] = {
        "probability": f"{best.damage_probability:.2f}",
        "confidence": f"{best.confidence:.2f}",
        "min_confidence": settings.min_confidence,
        "severity": best.severity,
        "damage_type": f" ({best.damage_type})" if best.damage_type else "",
        "high": settings.clearly_damaged,
        "low": settings.clearly_not_damaged,
    }
    if confident and best.damage_probability >= settings.clearly_damaged:
        return [ctx.hit("damage.confirmed", "approve", threshold=settings.clearly_damaged, **fields)]
    if confident and best.damage_probability <= settings.clearly_not_damaged:
        return [ctx.hit("damage.not_visible", "review", threshold=settings.clearly_not_damaged, **fields)]
    return [ctx.hit("damage.unclear", "review", **fields)]


def value_rule(ctx: ItemContext) -> list[RuleHit]:
    min_price = ctx.policy.high_value.min_price
    if ctx.item.price < min_price:
        return []
    return [ctx.hit("value.high", "review", price=ctx.money(ctx.item.price), min_price=ctx.money(min_price))]


def keep_it_rule(ctx: ItemContext, damage_confirmed: bool) -> list[RuleHit]:
    settings = ctx.policy.keep_it
    reasons = settings.reasons
    if ctx.item.price <= settings.max_price and (reasons is None or ctx.item.reason_code in reasons):
        return [
            ctx.hit(
                "keep_it", "info", price=ctx.money(ctx.item.price), max_price=ctx.money(settings.max_price)
            )
        ]
    if settings.damaged_fragile and ctx.item.fragile and damage_confirmed:
        return [ctx.hit("keep_it.fragile_damaged", "info")]
    return []


def allowed_resolutions(ctx: ItemContext) -> tuple[str, ...]:
    enabled = ctx.policy.resolutions.enabled()
    rule = ctx.reason
    if rule is not None and rule.resolutions is not None:
        enabled = tuple(name for name in enabled if name in rule.resolutions)
    if ctx.item.exchange_in_stock is False:
        enabled = tuple(name for name in enabled if name != "exchange")
    return enabled


def exchange_rule(ctx: ItemContext) -> list[RuleHit]:
    if ctx.item.exchange_in_stock is not False or not ctx.policy.resolutions.exchange:
        return []
    return [ctx.hit("exchange.out_of_stock", "info")]


# --- fees ----------------------------------------------------------------------------------


def fees_waived(case: ReturnCase, policy: Policy) -> bool:
    return case.resolution is not None and case.resolution in policy.resolutions.fees_waived_for


def chargeable_fees(ctx: ItemContext, kind: str) -> list[str]:
    """Codes of the fees of `kind` this item's reason charges (none when the shop is at fault)."""
    rule = ctx.reason
    if rule is None or rule.at_fault == "merchant" or fees_waived(ctx.case, ctx.policy):
        return []
    codes = []
    for code in rule.fees:
        fee = ctx.policy.fees[code]
        if fee.kind == kind and (fee.categories is None or ctx.item.category in fee.categories):
            codes.append(code)
    return codes


def restocking_amount(ctx: ItemContext, code: str) -> Decimal:
    fee = ctx.policy.fees[code]
    if fee.percent is not None:
        amount = quantize(ctx.item.paid * fee.percent / 100)
    else:
        amount = (fee.amount or ZERO) * ctx.item.quantity
    return min(amount, ctx.item.paid)


def fee_hit(
    code: str, label: str, amount: Decimal, detail: str, item_id: str | None, currency: str
) -> RuleHit:
    return hit(
        f"fee.{code}",
        "info",
        item_id,
        "fee",
        label=label.lower(),
        amount=format_money(amount, currency),
        fee=code,
        detail=detail,
    )


def fault_rule(ctx: ItemContext) -> list[RuleHit]:
    rule = ctx.reason
    if rule is not None and rule.at_fault == "merchant":
        return [ctx.hit("fees.none", "info")]
    return []


# --- the shopper's history (whole case) ----------------------------------------------------


def serial_returner_rule(case: ReturnCase, policy: Policy) -> list[RuleHit]:
    settings = policy.serial_returners
    since = case.today - dt.timedelta(days=settings.window_days)
    recent = sum(1 for when in case.customer.return_dates if since <= when <= case.today)
    hits = []
    if recent > settings.max_returns:
        hits.append(
            hit(
                "serial_returner",
                "review",
                None,
                count=recent,
                days=settings.window_days,
                limit=settings.max_returns,
            )
        )
    if case.customer.rejected_returns > settings.max_rejected:
        hits.append(
            hit(
                "serial_returner.rejections",
                "review",
                None,
                count=case.customer.rejected_returns,
                limit=settings.max_rejected,
            )
        )
    return hits
