"""One table per rule: the facts that matter for it, the outcome and the rule codes it produces."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from policy import Decision, ItemFacts, Policy, decide, load_policy
from tests.policy.factories import TODAY, case, dark_photo, item, photo

pytestmark = pytest.mark.filterwarnings("error")

DAMAGED = (photo(0.91, 0.88),)


def decide_item(policy: Policy, the_item: ItemFacts, **case_args: Any) -> Decision:
    return decide(case(the_item, **case_args), policy)


def codes(decision: Decision) -> set[str]:
    return set(decision.codes)


# --- delivery --------------------------------------------------------------------------------

DELIVERY = [
    # status, days_ago, outcome, code
    ("placed", None, "reject", "not_delivered"),
    ("shipped", None, "reject", "not_delivered"),
    ("cancelled", None, "reject", "not_delivered"),
    ("shipped", 3, "reject", "not_delivered"),  # a date without the delivered status is not enough
    ("delivered", None, "reject", "not_delivered"),  # delivered without a date: not yet
    ("delivered", 3, "approve", "window.ok"),
]


@pytest.mark.parametrize(("status", "days_ago", "outcome", "code"), DELIVERY)
def test_delivery(policy: Policy, status: str, days_ago: int | None, outcome: str, code: str) -> None:
    decision = decide_item(policy, item(), status=status, days_ago=days_ago)
    assert decision.outcome == outcome
    assert code in codes(decision)
    if outcome == "reject":
        assert "window.ok" not in codes(decision)
        assert "once it arrives" in decision.shopper_summary.lower()


# --- return window -----------------------------------------------------------------------------

WINDOWS = [
    # category, days since delivery, code
    ("footwear", 0, "window.ok"),
    ("footwear", 30, "window.ok"),
    ("footwear", 31, "window.expired"),
    ("apparel", 45, "window.expired"),
    ("electronics", 14, "window.ok"),
    ("electronics", 15, "window.expired"),
    ("garden", 30, "window.ok"),  # not listed: windows.default
    ("garden", 31, "window.expired"),
]


@pytest.mark.parametrize(("category", "days_ago", "code"), WINDOWS)
def test_window(policy: Policy, category: str, days_ago: int, code: str) -> None:
    decision = decide_item(policy, item(category=category, price="50.00"), days_ago=days_ago)
    assert code in codes(decision)
    assert (decision.outcome == "reject") == (code == "window.expired")


def test_window_counts_days_in_the_shops_time_zone() -> None:
    delivered = dt.datetime(2026, 10, 1, 23, 30, tzinfo=dt.UTC)  # 16:30 on Oct 1 in Los Angeles
    today = dt.datetime(2026, 11, 1, 0, 30, tzinfo=dt.UTC)  # 17:30 on Oct 31 in Los Angeles
    the_case = case(item(), delivered_at=delivered, today=today)
    utc = load_policy()
    los_angeles = load_policy(overrides={"timezone": "America/Los_Angeles"})
    assert "window.expired" in decide(the_case, utc).codes  # Oct 1 -> Nov 1: 31 days
    assert "window.ok" in decide(the_case, los_angeles).codes  # Oct 1 -> Oct 31: 30 days


def test_window_override_per_category() -> None:
    policy = load_policy(overrides={"windows": {"footwear": 60}})
    assert "window.ok" in decide(case(item(), days_ago=59), policy).codes
    assert "window.expired" in decide(case(item(category="apparel"), days_ago=59), policy).codes


# --- final sale --------------------------------------------------------------------------------

FINAL_SALE = [
    # final_sale, reason, review_reasons, outcome, code
    (True, "doesnt_fit", [], "reject", "final_sale"),
    (True, "damaged_on_arrival", [], "reject", "final_sale"),
    (True, "damaged_on_arrival", ["damaged_on_arrival"], "review", "final_sale.review"),
    (True, "doesnt_fit", ["damaged_on_arrival"], "reject", "final_sale"),
    (False, "doesnt_fit", [], "approve", "window.ok"),
]


@pytest.mark.parametrize(("final_sale", "reason", "review_reasons", "outcome", "code"), FINAL_SALE)
def test_final_sale(
    final_sale: bool, reason: str, review_reasons: list[str], outcome: str, code: str
) -> None:
    policy = load_policy(overrides={"final_sale": {"review_reasons": review_reasons}})
    the_item = item(final_sale=final_sale, reason_code=reason, price="40.00", photos=DAMAGED)
    decision = decide_item(policy, the_item)
    assert decision.outcome == outcome
    assert code in codes(decision)


# --- quantity ----------------------------------------------------------------------------------

QUANTITY = [
    # ordered, already returned, asked, outcome, code
    (1, 1, 1, "reject", "already_returned"),
    (2, 2, 1, "reject", "already_returned"),
    (2, 1, 2, "reject", "quantity.exceeds_returnable"),
    (2, 0, 0, "reject", "quantity.exceeds_returnable"),
    (2, 1, 1, "approve", "window.ok"),
    (3, 0, 3, "approve", "window.ok"),
]


@pytest.mark.parametrize(("ordered", "returned", "asked", "outcome", "code"), QUANTITY)
def test_quantity(policy: Policy, ordered: int, returned: int, asked: int, outcome: str, code: str) -> None:
    the_item = item(quantity_ordered=ordered, quantity_returned=returned, quantity=asked)
    decision = decide_item(policy, the_item)
    assert decision.outcome == outcome
    assert code in codes(decision)


# --- reason catalogue: automatic action -----------------------------------------------------------

REASONS = [
    # reason, outcome, code   (photos sent and clearly damaged; price 50.00)
    ("damaged_on_arrival", "approve", "reason.auto_approve"),
    ("defective", "review", "reason.manual_review"),
    ("wrong_item", "approve", "reason.auto_approve"),
    ("doesnt_fit", "approve", "reason.auto_approve"),
    ("not_as_described", "review", "reason.manual_review"),
    ("changed_mind", "approve", "reason.auto_approve"),
    ("arrived_late", "review", "reason.manual_review"),
    ("other", "review", "reason.manual_review"),
    ("teleported", "review", "reason.unknown"),
]


@pytest.mark.parametrize(("reason", "outcome", "code"), REASONS)
def test_reason_action(policy: Policy, reason: str, outcome: str, code: str) -> None:
    decision = decide_item(policy, item(reason_code=reason, price="50.00", photos=DAMAGED))
    assert decision.outcome == outcome
    assert code in codes(decision)


def test_reason_auto_reject_stops_before_photos() -> None:
    policy = load_policy(overrides={"reasons": {"changed_mind": {"action": "auto_reject"}}})
    decision = decide_item(policy, item(reason_code="changed_mind", price="349.00"))
    assert decision.outcome == "reject"
    assert decision.codes == ("window.ok", "reason.auto_reject")
    assert decision.ask_for.photos == 0


# --- photos: count and quality ---------------------------------------------------------------------

PHOTOS = [
    # reason, category, price, photos, photo_count, outcome, code, ask photos, ask reason
    ("doesnt_fit", "footwear", "120.00", (), None, "approve", None, 0, None),
    ("wrong_item", "footwear", "120.00", (), None, "need_photos", "photos.missing", 1, "more"),
    ("wrong_item", "footwear", "120.00", (photo(0.1),), None, "approve", "photos.ok", 0, None),
    ("wrong_item", "footwear", "120.00", (dark_photo(),), None, "need_photos", "photos.retake", 1, "retake"),
    ("wrong_item", "footwear", "120.00", (dark_photo(), photo(0.1)), None, "approve", "photos.ok", 0, None),
    ("wrong_item", "footwear", "120.00", (), 1, "approve", "photos.ok", 0, None),  # received, not assessed
    (
        "wrong_item",
        "footwear",
        "120.00",
        (photo(unusable=0.9),),
        None,
        "need_photos",
        "photos.retake",
        1,
        "retake",
    ),
    ("changed_mind", "electronics", "349.00", (), None, "need_photos", "photos.missing", 2, "more"),
    (
        "changed_mind",
        "electronics",
        "349.00",
        (photo(0.1),),
        None,
        "need_photos",
        "photos.missing",
        1,
        "more",
    ),
    (
        "changed_mind",
        "electronics",
        "349.00",
        (photo(0.1), photo(0.1)),
        None,
        "review",
        "value.high",
        0,
        None,
    ),
    (
        "damaged_on_arrival",
        "home",
        "60.00",
        (dark_photo(),),
        None,
        "need_photos",
        "photos.retake",
        1,
        "retake",
    ),
]


@pytest.mark.parametrize(
    ("reason", "category", "price", "photos", "count", "outcome", "code", "ask", "ask_reason"), PHOTOS
)
def test_photos(
    policy: Policy,
    reason: str,
    category: str,
    price: str,
    photos: tuple[Any, ...],
    count: int | None,
    outcome: str,
    code: str | None,
    ask: int,
    ask_reason: str | None,
) -> None:
    the_item = item(reason_code=reason, category=category, price=price, photos=photos, photo_count=count)
    decision = decide_item(policy, the_item, days_ago=3)
    assert decision.outcome == outcome
    if code:
        assert code in codes(decision)
    assert decision.ask_for.photos == ask
    assert decision.ask_for.reason == ask_reason
    if ask_reason == "retake" and photos and not photos[0].quality_ok:
        assert decision.ask_for.message.startswith("That photo is too dark")


def test_photos_by_category() -> None:
    overrides = {"reasons": {"defective": {"photos_by_category": {"electronics": 3}}}}
    policy = load_policy(overrides=overrides)
    assert policy.photos_required("defective", "electronics") == 3
    assert policy.photos_required("defective", "home") == 1
    decision = decide_item(
        policy, item(reason_code="defective", category="electronics", price="99.00"), days_ago=2
    )
    assert decision.ask_for.photos == 3


# --- damage assessment ------------------------------------------------------------------------------

DAMAGE = [
    # photos (probability, confidence), outcome, code
    ([(0.91, 0.88)], "approve", "damage.confirmed"),
    ([(0.70, 0.60)], "approve", "damage.confirmed"),  # thresholds are inclusive
    ([(0.69, 0.95)], "review", "damage.unclear"),
    ([(0.50, 0.90)], "review", "damage.unclear"),
    ([(0.95, 0.59)], "review", "damage.unclear"),  # clear picture, unsure model
    ([(0.30, 0.90)], "review", "damage.not_visible"),
    ([(0.05, 0.95)], "review", "damage.not_visible"),
    ([(0.05, 0.30)], "review", "damage.unclear"),
    ([(0.10, 0.90), (0.92, 0.90)], "approve", "damage.confirmed"),  # one photo showing damage is enough
]


@pytest.mark.parametrize(("photos", "outcome", "code"), DAMAGE)
def test_damage(policy: Policy, photos: list[tuple[float, float]], outcome: str, code: str) -> None:
    evidence = tuple(photo(p, c) for p, c in photos)
    the_item = item(
        name="ceramic vase", category="home", price="60.00", reason_code="damaged_on_arrival", photos=evidence
    )
    decision = decide_item(policy, the_item, days_ago=2)
    assert decision.outcome == outcome
    assert code in codes(decision)
    damage_codes = {c for c in codes(decision) if c.startswith("damage.")}
    assert damage_codes == {code}


def test_damage_not_visible_says_so_to_the_merchant(policy: Policy) -> None:
    the_item = item(reason_code="damaged_on_arrival", price="60.00", photos=(photo(0.05, 0.95),))
    rule = next(r for r in decide_item(policy, the_item).rules if r.code == "damage.not_visible")
    assert "Photos do not show damage" in rule.merchant_detail
    assert rule.effect == "review"


def test_damage_unassessed_photos_go_to_review(policy: Policy) -> None:
    the_item = item(reason_code="damaged_on_arrival", price="60.00", photo_count=1)
    decision = decide_item(policy, the_item)
    assert decision.outcome == "review"
    assert "damage.unassessed" in codes(decision)


def test_damage_is_not_assessed_for_other_reasons(policy: Policy) -> None:
    the_item = item(reason_code="wrong_item", price="60.00", photos=(photo(0.05, 0.95),))
    assert not any(c.startswith("damage.") for c in decide_item(policy, the_item).codes)


def test_damage_thresholds_are_settings() -> None:
    policy = load_policy(overrides={"damage": {"clearly_damaged": 0.95}})
    the_item = item(reason_code="damaged_on_arrival", price="60.00", photos=(photo(0.91, 0.88),))
    assert decide_item(policy, the_item).outcome == "review"


# --- high value ---------------------------------------------------------------------------------

HIGH_VALUE = [
    # price, value.high fires
    ("299.99", False),
    ("300.00", True),
    ("349.00", True),
]


@pytest.mark.parametrize(("price", "fires"), HIGH_VALUE)
def test_high_value(policy: Policy, price: str, fires: bool) -> None:
    the_item = item(category="electronics", price=price, reason_code="changed_mind", photos=(photo(0.1),) * 2)
    decision = decide_item(policy, the_item, days_ago=3)
    assert ("value.high" in codes(decision)) == fires
    assert decision.outcome == ("review" if fires else "approve")


# --- keep it --------------------------------------------------------------------------------------

KEEP_IT = [
    # price, reason, overrides, keep
    ("15.00", "changed_mind", {}, True),
    ("20.00", "doesnt_fit", {}, True),
    ("20.01", "doesnt_fit", {}, False),
    ("15.00", "changed_mind", {"keep_it": {"reasons": ["damaged_on_arrival"]}}, False),
    ("15.00", "damaged_on_arrival", {"keep_it": {"reasons": ["damaged_on_arrival"]}}, True),
    ("60.00", "damaged_on_arrival", {}, False),
    ("60.00", "damaged_on_arrival", {"keep_it": {"damaged_fragile": True}}, True),
]


@pytest.mark.parametrize(("price", "reason", "overrides", "keep"), KEEP_IT)
def test_keep_it(price: str, reason: str, overrides: dict[str, Any], keep: bool) -> None:
    policy = load_policy(overrides=overrides)
    the_item = item(price=price, reason_code=reason, fragile=True, photos=DAMAGED)
    decision = decide_item(policy, the_item, days_ago=2)
    assert decision.keep_item is keep
    assert any(c.startswith("keep_it") for c in decision.codes) is keep
    assert decision.outcome == "approve"


# --- serial returners --------------------------------------------------------------------------------

SERIAL = [
    # earlier returns (days ago), rejected returns, code or None
    ((10, 20, 30, 40, 50), 0, None),
    ((10, 20, 30, 40, 50, 60), 0, "serial_returner"),
    ((10, 20, 30, 40, 50, 120), 0, None),  # the sixth is outside the 90 days
    ((), 3, None),
    ((), 4, "serial_returner.rejections"),
]


@pytest.mark.parametrize(("returns", "rejected", "code"), SERIAL)
def test_serial_returner(policy: Policy, returns: tuple[int, ...], rejected: int, code: str | None) -> None:
    decision = decide_item(policy, item(), returns_days_ago=returns, rejected=rejected)
    serial = {c for c in codes(decision) if c.startswith("serial_returner")}
    assert serial == ({code} if code else set())
    assert decision.outcome == ("review" if code else "approve")


def test_serial_returner_is_not_listed_when_nothing_is_returnable(policy: Policy) -> None:
    decision = decide_item(policy, item(final_sale=True), rejected=10)
    assert decision.codes == ("final_sale", "window.ok")


# --- resolutions and exchange stock -------------------------------------------------------------------

RESOLUTION_TABLE = [
    # reason, exchange_in_stock, resolutions, exchange.out_of_stock fires
    ("doesnt_fit", None, ("refund", "exchange", "store_credit"), False),
    ("doesnt_fit", True, ("refund", "exchange", "store_credit"), False),
    ("doesnt_fit", False, ("refund", "store_credit"), True),
    ("arrived_late", None, ("refund", "store_credit"), False),
]


@pytest.mark.parametrize(("reason", "in_stock", "resolutions", "fires"), RESOLUTION_TABLE)
def test_resolutions(
    policy: Policy, reason: str, in_stock: bool | None, resolutions: tuple[str, ...], fires: bool
) -> None:
    decision = decide_item(policy, item(reason_code=reason, exchange_in_stock=in_stock))
    assert decision.resolutions == resolutions
    assert ("exchange.out_of_stock" in codes(decision)) is fires
    assert decision.store_credit_bonus_pct == Decimal("10")


def test_store_credit_switched_off() -> None:
    policy = load_policy(overrides={"resolutions": {"store_credit": False}})
    decision = decide_item(policy, item())
    assert decision.resolutions == ("refund", "exchange")
    assert decision.to_dict()["store_credit_bonus_pct"] == "0"


# --- fees -----------------------------------------------------------------------------------------

FEES = [
    # reason, category, price, resolution, fees {code: amount}, refund
    ("doesnt_fit", "footwear", "120.00", None, {"return_shipping": "5.95"}, "114.05"),
    ("changed_mind", "apparel", "100.00", None, {"return_shipping": "5.95"}, "94.05"),
    (
        "changed_mind",
        "electronics",
        "100.00",
        None,
        {"restocking_fee": "10.00", "return_shipping": "5.95"},
        "84.05",
    ),
    (
        "changed_mind",
        "electronics",
        "99.99",
        None,
        {"restocking_fee": "10.00", "return_shipping": "5.95"},
        "84.04",
    ),
    ("changed_mind", "electronics", "100.00", "exchange", {}, "100.00"),
    ("changed_mind", "electronics", "100.00", "store_credit", {}, "100.00"),
    (
        "changed_mind",
        "electronics",
        "100.00",
        "refund",
        {"restocking_fee": "10.00", "return_shipping": "5.95"},
        "84.05",
    ),
    ("wrong_item", "footwear", "120.00", None, {}, "120.00"),
    ("damaged_on_arrival", "home", "60.00", None, {}, "60.00"),
    ("changed_mind", "accessories", "15.00", None, {}, "15.00"),  # kept: nothing is shipped back
]


@pytest.mark.parametrize(("reason", "category", "price", "resolution", "fees", "refund"), FEES)
def test_fees(
    policy: Policy,
    reason: str,
    category: str,
    price: str,
    resolution: str | None,
    fees: dict[str, str],
    refund: str,
) -> None:
    the_item = item(reason_code=reason, category=category, price=price, photos=DAMAGED)
    decision = decide_item(policy, the_item, days_ago=2, resolution=resolution)
    assert {fee.code: str(fee.amount) for fee in decision.fees} == fees
    assert str(decision.refund_amount) == refund
    for code in fees:
        assert f"fee.{code}" in codes(decision)
    if resolution in ("exchange", "store_credit"):
        assert "fees.waived" in codes(decision)


def test_shop_at_fault_says_it_is_free(policy: Policy) -> None:
    decision = decide_item(policy, item(reason_code="wrong_item", photos=DAMAGED))
    assert "fees.none" in codes(decision)


def test_refund_never_goes_below_zero() -> None:
    policy = load_policy(overrides={"keep_it": {"max_price": "0"}})
    decision = decide_item(policy, item(price="3.00", reason_code="changed_mind"))
    assert decision.refund_amount == Decimal("0.00")
    assert decision.outcome == "approve"


def test_fixed_restocking_fee_per_unit() -> None:
    overrides = {"fees": {"restocking_fee": {"percent": None, "amount": "4.00", "categories": None}}}
    policy = load_policy(overrides=overrides)
    the_item = item(reason_code="changed_mind", quantity=2, quantity_ordered=2, price="50.00")
    decision = decide_item(policy, the_item)
    assert {f.code: f.amount for f in decision.fees} == {
        "restocking_fee": Decimal("8.00"),
        "return_shipping": Decimal("5.95"),
    }
    assert decision.refund_amount == Decimal("86.05")


def test_rules_carry_both_audiences(policy: Policy) -> None:
    decision = decide_item(policy, item(), days_ago=40)
    (rule,) = decision.rules
    assert rule.code == "window.expired"
    assert rule.effect == "reject"
    assert "40 days ago" in rule.shopper_message
    assert "windows.footwear = 30" in rule.merchant_detail
    assert rule.item_id == "1"


def test_today_must_be_time_zone_aware() -> None:
    from policy import PolicyError

    with pytest.raises(PolicyError, match="today: must be time-zone aware"):
        case(item(), days_ago=None, today=TODAY.replace(tzinfo=None))


def test_fees_listed_never_exceed_the_refund() -> None:
    policy = load_policy(overrides={"keep_it": {"max_price": "0"}})
    decision = decide_item(policy, item(price="3.00", reason_code="changed_mind"))
    assert [(f.code, f.amount) for f in decision.fees] == [("return_shipping", Decimal("3.00"))]
