"""`decide`: run the rules over every item of a case and combine them into one Decision.

Per item, in this order:
1. eligibility (delivered, final sale, quantity, window): any rejection stops here;
2. the reason's automatic action: auto_reject stops here;
3. photos (count and quality), the damage verdict, high value, keep-it, exchange stock;
4. fees (none when the shop is at fault).
An item's outcome is the most restrictive effect among its rules and the case rules
(reject > need_photos > review > approve).

Overall: reject when every item is rejected; otherwise the most restrictive outcome among the
returnable items. Resolutions are those every returnable item allows; the refund is the sum
of the returnable items' refunds minus per-return (shipping) fees, never below zero.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from decimal import Decimal

from policy.config import Policy
from policy.decision import OUTCOME_ORDER, AskFor, AskReason, Decision, Fee, ItemDecision, Outcome, RuleHit
from policy.facts import ReturnCase
from policy.money import ZERO, format_money
from policy.rules import (
    ELIGIBILITY_RULES,
    ItemContext,
    allowed_resolutions,
    chargeable_fees,
    damage_rule,
    exchange_rule,
    fault_rule,
    fee_hit,
    fees_waived,
    hit,
    keep_it_rule,
    photo_rule,
    photos_required,
    reason_rule,
    restocking_amount,
    serial_returner_rule,
    usable_photos,
    value_rule,
)
from policy.summary import shopper_summary


def combine(effects: Iterable[str]) -> Outcome:
    """The most restrictive outcome among the effects; review when none decides."""
    present = set(effects)
    for outcome in OUTCOME_ORDER:
        if outcome in present:
            return outcome
    return "review"


def _stops(hits: list[RuleHit]) -> bool:
    return any(h.effect == "reject" for h in hits)


def item_rules(ctx: ItemContext) -> list[RuleHit]:
    hits: list[RuleHit] = []
    for rule in ELIGIBILITY_RULES:
        hits += rule(ctx)
    if _stops(hits):
        return hits
    hits += reason_rule(ctx)
    if _stops(hits):
        return hits
    photos = photo_rule(ctx)
    hits += photos
    if not any(h.effect == "need_photos" for h in photos):
        hits += damage_rule(ctx)
    hits += value_rule(ctx)
    hits += keep_it_rule(ctx, damage_confirmed=any(h.code == "damage.confirmed" for h in hits))
    hits += exchange_rule(ctx)
    hits += fault_rule(ctx)
    return hits


def _ask_for(hits: list[RuleHit], ctx: ItemContext, usable_needed: int) -> AskFor:
    ask = next((h for h in hits if h.effect == "need_photos"), None)
    if ask is None:
        return AskFor()
    reason: AskReason = "retake" if ask.code == "photos.retake" else "more"
    return AskFor(usable_needed, reason, ask.shopper_message, (ctx.item.item_id,))


def _missing_photos(ctx: ItemContext) -> int:
    unassessed = ctx.item.photos_received - len(ctx.item.photos)
    return max(photos_required(ctx) - len(usable_photos(ctx)) - unassessed, 0)


def decide_item(ctx: ItemContext, case_hits: list[RuleHit]) -> ItemDecision:
    item = ctx.item
    hits = item_rules(ctx)
    outcome = combine(h.effect for h in hits)
    if outcome == "reject":
        return ItemDecision(
            item_id=item.item_id,
            name=item.name,
            outcome="reject",
            resolutions=(),
            keep_item=False,
            paid=item.paid,
            refund_amount=ZERO,
            rules=tuple(hits),
        )
    fees = _capped(
        [
            Fee(code, ctx.policy.fees[code].label, restocking_amount(ctx, code), item.item_id)
            for code in chargeable_fees(ctx, "restocking")
        ],
        item.paid,
    )
    hits += [_restocking_hit(ctx, fee) for fee in fees]
    return ItemDecision(
        item_id=item.item_id,
        name=item.name,
        outcome=combine([outcome, *(h.effect for h in case_hits)]),
        resolutions=allowed_resolutions(ctx),
        keep_item=any(h.code.startswith("keep_it") for h in hits),
        paid=item.paid,
        refund_amount=item.paid - sum((fee.amount for fee in fees), ZERO),
        fees=tuple(fees),
        ask_for=_ask_for(hits, ctx, _missing_photos(ctx)),
        rules=tuple(hits),
    )


def _restocking_hit(ctx: ItemContext, fee: Fee) -> RuleHit:
    rule = ctx.policy.fees[fee.code]
    detail = (
        f"{rule.percent}% of {ctx.money(ctx.item.paid)}"
        if rule.percent is not None
        else f"{rule.amount} per unit"
    )
    return fee_hit(fee.code, fee.label, fee.amount, detail, ctx.item.item_id, ctx.policy.currency)


def shipping_fees(contexts: list[ItemContext], decisions: list[ItemDecision]) -> list[Fee]:
    """Per-return fees: charged once when a returnable item that is sent back calls for them."""
    fees: dict[str, Fee] = {}
    for ctx, decision in zip(contexts, decisions, strict=True):
        if decision.outcome == "reject" or decision.keep_item:
            continue
        for code in chargeable_fees(ctx, "shipping"):
            rule = ctx.policy.fees[code]
            fees.setdefault(code, Fee(code, rule.label, rule.amount or ZERO))
    return list(fees.values())


def _capped(fees: list[Fee], available: Decimal) -> list[Fee]:
    """Per-return fees never take more than the items' refunds: the refund stops at zero."""
    capped = []
    for fee in fees:
        amount = min(fee.amount, available)
        available -= amount
        capped.append(dataclasses.replace(fee, amount=amount))
    return capped


def _combined_ask(decisions: list[ItemDecision]) -> AskFor:
    asks = [d.ask_for for d in decisions if d.ask_for.reason is not None]
    if not asks:
        return AskFor()
    reason: AskReason = "retake" if any(a.reason == "retake" for a in asks) else "more"
    return AskFor(
        sum(a.photos for a in asks),
        reason,
        " ".join(a.message for a in asks),
        tuple(i for a in asks for i in a.item_ids),
    )


def _common_resolutions(decisions: list[ItemDecision]) -> tuple[str, ...]:
    if not decisions:
        return ()
    first, *rest = decisions
    return tuple(r for r in first.resolutions if all(r in d.resolutions for d in rest))


def decide(case: ReturnCase, policy: Policy) -> Decision:
    """The decision for a return case under a policy. Pure and deterministic."""
    contexts = [ItemContext(case, item, policy) for item in case.items]
    case_hits = serial_returner_rule(case, policy)
    decisions = [decide_item(ctx, case_hits) for ctx in contexts]
    returnable = [d for d in decisions if d.outcome != "reject"]

    item_refunds = sum((d.refund_amount for d in returnable), ZERO)
    per_return = _capped(shipping_fees(contexts, decisions), item_refunds)
    refund = item_refunds - sum((fee.amount for fee in per_return), ZERO)

    rules = [h for d in decisions for h in d.rules]
    if returnable:
        rules += case_hits
        rules += [
            fee_hit(fee.code, fee.label, fee.amount, f"{fee.amount} once per return", None, policy.currency)
            for fee in per_return
        ]
        rules += _waiver_hits(case, policy, contexts)

    outcome: Outcome = combine(d.outcome for d in returnable) if returnable else "reject"
    resolutions = _common_resolutions(returnable)
    bonus = policy.resolutions.store_credit_bonus_pct if "store_credit" in resolutions else Decimal(0)
    fees = tuple(f for d in returnable for f in d.fees) + tuple(per_return)
    ask = _combined_ask(returnable)
    keep_item = bool(returnable) and all(d.keep_item for d in returnable)
    summary = shopper_summary(
        outcome=outcome,
        decisions=decisions,
        rules=rules,
        refund=format_money(refund, policy.currency),
        fees=[(fee.label, format_money(fee.amount, policy.currency)) for fee in fees],
        resolutions=resolutions,
        chosen=case.resolution,
        bonus=bonus,
        keep_item=keep_item,
        ask=ask,
    )
    return Decision(
        outcome=outcome,
        resolutions=resolutions,
        store_credit_bonus_pct=bonus,
        keep_item=keep_item,
        refund_amount=refund,
        fees=fees,
        ask_for=ask,
        rules=tuple(rules),
        policy_version=policy.version,
        shopper_summary=summary,
        items=tuple(decisions),
    )


def _waiver_hits(case: ReturnCase, policy: Policy, contexts: list[ItemContext]) -> list[RuleHit]:
    if not fees_waived(case, policy):
        return []
    would_charge = any(
        ctx.reason is not None and ctx.reason.at_fault == "shopper" and ctx.reason.fees for ctx in contexts
    )
    if not would_charge:
        return []
    names = {"exchange": "an exchange", "store_credit": "store credit", "refund": "a refund"}
    return [hit("fees.waived", "info", None, resolution=names.get(case.resolution or "", case.resolution))]
