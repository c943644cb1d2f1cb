"""Plain language built from the data: the policy in a few lines, and a decision in one or two sentences."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from policy.decision import AskFor, ItemDecision, RuleHit
from policy.money import format_money

if TYPE_CHECKING:
    from policy.config import Policy


def join_words(words: Sequence[str], last: str = "and") -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def _pct(value: Decimal | None) -> str:
    return format((value or Decimal(0)).normalize(), "f")


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


# --- the policy ------------------------------------------------------------------------------


def window_line(policy: Policy) -> str:
    default = policy.windows["default"]
    others = [f"{category}: {_days(days)}" for category, days in policy.windows.items() if days != default]
    line = f"You can return items within {_days(default)} of delivery"
    return f"{line} ({'; '.join(others)})." if others else f"{line}."


def final_sale_line(policy: Policy) -> str:
    labels = [policy.reasons[c].label for c in policy.final_sale.review_reasons if c in policy.reasons]
    if labels:
        return f"Final-sale items can't be returned; our team reviews them only for: {join_words(labels)}."
    return "Final-sale items can't be returned."


def photo_line(policy: Policy) -> str | None:
    parts = []
    for rule in policy.reasons.values():
        counts = {rule.photos_required, *rule.photos_by_category.values()}
        if max(counts) == 0:
            continue
        by_category = [
            f"{cat}: {n}" for cat, n in rule.photos_by_category.items() if n != rule.photos_required
        ]
        extra = f"; {', '.join(by_category)}" if by_category else ""
        word = "photo" if rule.photos_required == 1 else "photos"
        parts.append(f"{rule.label} ({rule.photos_required} {word}{extra})")
    return f"We ask for photos for these reasons: {join_words(parts)}." if parts else None


def damage_line(policy: Policy) -> str | None:
    reasons = policy.reasons.values()
    labels = [rule.label for rule in reasons if rule.assess_damage and rule.action == "auto_approve"]
    if not labels:
        return None
    return (
        f"For {join_words(labels, 'or')}, when your photos clearly show the damage the return is approved "
        "straight away; otherwise our team takes a look."
    )


def review_line(policy: Policy) -> str | None:
    labels = [rule.label for rule in policy.reasons.values() if rule.action == "manual_review"]
    return f"Our team checks returns for: {join_words(labels)}." if labels else None


def free_line(policy: Policy) -> str | None:
    labels = [rule.label for rule in policy.reasons.values() if rule.at_fault == "merchant"]
    return f"Returns are free when the problem is on our side: {join_words(labels)}." if labels else None


def fee_lines(policy: Policy) -> list[str]:
    lines = []
    for code, fee in policy.fees.items():
        labels = [r.label for r in policy.reasons.values() if code in r.fees and r.at_fault == "shopper"]
        if not labels:
            continue
        size = (
            format_money(fee.amount, policy.currency) if fee.amount is not None else f"{_pct(fee.percent)}%"
        )
        scope = f" on {join_words(list(fee.categories))} items" if fee.categories else ""
        per = " once per return" if fee.kind == "shipping" else ""
        lines.append(
            f"A {fee.label.lower()} of {size}{scope} is deducted from refunds{per} for: {join_words(labels)}."
        )
    waived = [_resolution_name(r, policy) for r in policy.resolutions.fees_waived_for]
    if lines and waived:
        lines.append(f"There are no fees when you choose {join_words(waived, 'or')}.")
    return lines


def keep_it_line(policy: Policy) -> str:
    amount = format_money(policy.keep_it.max_price, policy.currency)
    reasons = policy.keep_it.reasons
    scope = ""
    if reasons is not None:
        scope = " when the reason is " + join_words([policy.reasons[c].label for c in reasons], "or")
    return f"Items that cost {amount} or less are refunded without being sent back{scope}."


def high_value_line(policy: Policy) -> str:
    amount = format_money(policy.high_value.min_price, policy.currency)
    count = policy.high_value.photos_required
    photos = f" and we ask for {count} photo{'s' if count != 1 else ''}" if count else ""
    return f"Returns of items that cost {amount} or more are checked by our team{photos}."


def _resolution_name(name: str, policy: Policy, stock_note: bool = False) -> str:
    if name == "refund":
        return "a refund"
    if name == "exchange":
        return "an exchange (when the replacement is in stock)" if stock_note else "an exchange"
    bonus = policy.resolutions.store_credit_bonus_pct
    return f"store credit with a {_pct(bonus)}% bonus" if bonus and stock_note else "store credit"


def resolution_line(policy: Policy) -> str:
    names = [_resolution_name(name, policy, stock_note=True) for name in policy.resolutions.enabled()]
    return f"You can choose {join_words(names, 'or')}."


def policy_summary(policy: Policy) -> list[str]:
    lines: list[str | None] = [
        window_line(policy),
        "Returns open once your order has been delivered.",
        final_sale_line(policy),
        resolution_line(policy),
        photo_line(policy),
        damage_line(policy),
        review_line(policy),
        free_line(policy),
        *fee_lines(policy),
        keep_it_line(policy),
        high_value_line(policy),
    ]
    return [line for line in lines if line]


# --- a decision ------------------------------------------------------------------------------


def _names(decisions: Sequence[ItemDecision]) -> str:
    return join_words([f"the {d.name}" for d in decisions])


def _offer(name: str, refund: str, fees: Sequence[tuple[str, str]], bonus: Decimal) -> str:
    if name == "refund":
        after = join_words([f"a {label.lower()} of {amount}" for label, amount in fees])
        return f"a refund of {refund}" + (f" (after {after})" if fees else "")
    if name == "exchange":
        return "an exchange"
    return f"store credit with a {_pct(bonus)}% bonus" if bonus else "store credit"


def _options(
    refund: str,
    fees: Sequence[tuple[str, str]],
    resolutions: Sequence[str],
    bonus: Decimal,
    chosen: str | None,
) -> str:
    if chosen in resolutions:
        return f"You'll get {_offer(str(chosen), refund, fees, bonus)}."
    options = [_offer(name, refund, fees, bonus) for name in resolutions]
    return f"You can choose {join_words(options, 'or')}." if options else ""


def _first_message(rules: Sequence[RuleHit], effect: str) -> str | None:
    return next((r.shopper_message for r in rules if r.effect == effect), None)


def _review_message(rules: Sequence[RuleHit], item_ids: set[str]) -> str:
    """The most specific reason for a review: a rule about the facts before the reason's own action."""
    relevant = [r for r in rules if r.effect == "review" and (r.item_id is None or r.item_id in item_ids)]
    relevant.sort(key=lambda r: r.code.startswith("reason."))
    if relevant:
        return relevant[0].shopper_message
    return "Our team will check your return and get back to you shortly."


def shopper_summary(
    *,
    outcome: str,
    decisions: Sequence[ItemDecision],
    rules: Sequence[RuleHit],
    refund: str,
    fees: Sequence[tuple[str, str]],
    resolutions: Sequence[str],
    chosen: str | None,
    bonus: Decimal,
    keep_item: bool,
    ask: AskFor,
) -> str:
    returnable = [d for d in decisions if d.outcome != "reject"]
    rejected = [
        msg
        for d in decisions
        if d.outcome == "reject" and (msg := _first_message(d.rules, "reject")) is not None
    ]
    if outcome == "approve":
        options = _options(refund, fees, resolutions, bonus, chosen)
        main = f"Your return of {_names(returnable)} is approved. {options}"
        if keep_item:
            main += " There's no need to send anything back."
    elif outcome == "need_photos":
        main = ask.message
    elif outcome == "review":
        main = _review_message(rules, {d.item_id for d in returnable})
    else:
        return " ".join(rejected[:2])
    return " ".join([main.strip(), *rejected[:1]])
