"""Whole decisions: the demo orders, several items in one case, and the dict the API stores."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from policy import Decision, Policy, decide
from tests.policy.factories import case, dark_photo, example_case, item, photo

# --- the demo orders of DESIGN.md -------------------------------------------------------------------

DEMO = [
    # order, outcome, codes that must fire, keep_item, refund
    ("100231", "approve", {"window.ok", "reason.auto_approve", "fee.return_shipping"}, False, "114.05"),
    ("100232", "approve", {"damage.confirmed", "photos.ok", "fees.none"}, False, "60.00"),
    ("100233", "reject", {"window.expired"}, False, "0.00"),
    ("100234", "review", {"value.high", "photos.ok"}, False, "349.00"),
    ("100235", "reject", {"final_sale"}, False, "0.00"),
    ("100236", "reject", {"not_delivered"}, False, "0.00"),
    ("100237", "approve", {"keep_it", "reason.auto_approve"}, True, "15.00"),
]


@pytest.mark.parametrize(("order", "outcome", "fired", "keep", "refund"), DEMO)
def test_demo_orders(
    policy: Policy, order: str, outcome: str, fired: set[str], keep: bool, refund: str
) -> None:
    decision = decide(example_case(order), policy)
    assert decision.outcome == outcome
    assert fired <= set(decision.codes)
    assert decision.keep_item is keep
    assert str(decision.refund_amount) == refund
    assert decision.policy_version == policy.version
    assert decision.shopper_summary


def test_demo_headphones_ask_for_two_photos_first(policy: Policy) -> None:
    the_case = example_case("100234")
    bare = dataclasses.replace(the_case.items[0], photos=())
    decision = decide(dataclasses.replace(the_case, items=(bare,)), policy)
    assert decision.outcome == "need_photos"
    assert decision.ask_for.photos == 2
    assert decision.ask_for.reason == "more"
    assert "value.high" in decision.codes


def test_demo_vase_photo_too_dark_asks_for_a_retake(policy: Policy) -> None:
    the_case = example_case("100232")
    dark = dataclasses.replace(the_case.items[0], photos=(dark_photo(),))
    decision = decide(dataclasses.replace(the_case, items=(dark,)), policy)
    assert decision.outcome == "need_photos"
    assert decision.ask_for.reason == "retake"
    assert decision.shopper_summary.startswith("That photo is too dark")


@pytest.mark.parametrize(
    ("order", "words"), [("100233", "45 days ago"), ("100235", "final sale"), ("100236", "arrives")]
)
def test_demo_rejections_say_why(policy: Policy, order: str, words: str) -> None:
    assert words in decide(example_case(order), policy).shopper_summary


# --- several items --------------------------------------------------------------------------------

SHOES = item()
SHIRT = item(item_id="2", name="cotton t-shirt", category="apparel", price="25.00")
SWIMSUIT = item(item_id="3", name="swimsuit", category="apparel", price="40.00", final_sale=True)
HEADPHONES = item(item_id="4", name="wireless headphones", category="electronics", price="349.00")
WRONG = item(item_id="5", name="scarf", category="accessories", price="35.00", reason_code="wrong_item")
CHEAP = item(
    item_id="6", name="phone case", category="accessories", price="15.00", reason_code="changed_mind"
)

COMBINATIONS = [
    # items, overall outcome, per-item outcomes, refund
    ((SHOES, SHIRT), "approve", ("approve", "approve"), "139.05"),  # one shipping fee per return
    ((SHOES, SWIMSUIT), "approve", ("approve", "reject"), "114.05"),
    ((SWIMSUIT,), "reject", ("reject",), "0.00"),
    ((SHOES, HEADPHONES), "need_photos", ("approve", "need_photos"), "463.05"),
    (
        (SHOES, dataclasses.replace(HEADPHONES, photos=(photo(0.1),) * 2)),
        "review",
        ("approve", "review"),
        "463.05",
    ),
    ((SWIMSUIT, dataclasses.replace(SWIMSUIT, item_id="9")), "reject", ("reject", "reject"), "0.00"),
    ((SHOES, WRONG), "need_photos", ("approve", "need_photos"), "149.05"),
    (
        (CHEAP, WRONG),
        "need_photos",
        ("approve", "need_photos"),
        "50.00",
    ),  # nothing to ship for the case alone
    ((CHEAP,), "approve", ("approve",), "15.00"),
]


@pytest.mark.parametrize(("items", "outcome", "per_item", "refund"), COMBINATIONS)
def test_combinations(
    policy: Policy, items: tuple, outcome: str, per_item: tuple[str, ...], refund: str
) -> None:
    decision = decide(case(*items, days_ago=3), policy)
    assert decision.outcome == outcome
    assert tuple(d.outcome for d in decision.items) == per_item
    assert str(decision.refund_amount) == refund


def test_combination_lists_rules_per_item(policy: Policy) -> None:
    decision = decide(case(SHOES, SWIMSUIT), policy)
    by_item = {(r.item_id, r.code) for r in decision.rules}
    assert ("3", "final_sale") in by_item
    assert ("1", "reason.auto_approve") in by_item
    assert "can't be returned" in decision.shopper_summary
    assert decision.shopper_summary.startswith("Your return of the running shoes is approved.")


def test_combination_keep_item_only_when_nothing_goes_back(policy: Policy) -> None:
    assert decide(case(CHEAP, dataclasses.replace(CHEAP, item_id="7")), policy).keep_item is True
    assert decide(case(CHEAP, SHOES), policy).keep_item is False
    assert decide(case(CHEAP, SWIMSUIT), policy).keep_item is True  # the swimsuit is not returned


def test_combination_resolutions_allowed_by_every_item(policy: Policy) -> None:
    no_stock = dataclasses.replace(SHIRT, exchange_in_stock=False)
    decision = decide(case(SHOES, no_stock), policy)
    assert decision.resolutions == ("refund", "store_credit")
    assert decision.items[0].resolutions == ("refund", "exchange", "store_credit")


def test_combination_asks_for_photos_of_each_item(policy: Policy) -> None:
    wrong_too = dataclasses.replace(WRONG, item_id="8")
    decision = decide(case(WRONG, wrong_too), policy)
    assert decision.ask_for.photos == 2
    assert decision.ask_for.item_ids == ("5", "8")


def test_serial_returner_puts_every_returnable_item_to_review(policy: Policy) -> None:
    decision = decide(case(SHOES, SWIMSUIT, returns_days_ago=(1, 2, 3, 4, 5, 6)), policy)
    assert decision.outcome == "review"
    assert [d.outcome for d in decision.items] == ["review", "reject"]
    (serial,) = [r for r in decision.rules if r.code == "serial_returner"]
    assert serial.item_id is None
    assert "serial" not in serial.shopper_message.lower()  # never accuse the shopper


# --- the decision dict (docs/interfaces.md) -------------------------------------------------------

CONTRACT_KEYS = {
    "outcome",
    "resolutions",
    "store_credit_bonus_pct",
    "keep_item",
    "refund_amount",
    "fees",
    "ask_for",
    "rules",
    "policy_version",
    "shopper_summary",
}


def test_to_dict_matches_the_interface(policy: Policy) -> None:
    data = decide(
        case(item(reason_code="changed_mind", category="electronics", price="100.00")), policy
    ).to_dict()
    assert set(data) >= CONTRACT_KEYS
    assert data["outcome"] == "approve"
    assert data["resolutions"] == ["refund", "exchange", "store_credit"]
    assert data["store_credit_bonus_pct"] == "10"
    assert data["refund_amount"] == "84.05"
    assert {"code": "restocking_fee", "amount": "10.00"}.items() <= data["fees"][0].items()
    assert data["ask_for"] == {"photos": 0, "reason": None, "message": "", "item_ids": []}
    for rule in data["rules"]:
        assert {"code", "effect", "shopper_message", "merchant_detail"} <= set(rule)
        assert rule["effect"] in {"approve", "reject", "review", "info", "need_photos"}
    assert json.loads(json.dumps(data)) == data


def test_decision_is_deterministic(policy: Policy) -> None:
    the_case = example_case("100232")
    first: Decision = decide(the_case, policy)
    assert decide(the_case, policy) == first
    assert decide(the_case, policy).to_dict() == first.to_dict()


def test_money_is_decimal(policy: Policy) -> None:
    decision = decide(case(SHOES), policy)
    assert isinstance(decision.refund_amount, Decimal)
    assert all(isinstance(fee.amount, Decimal) for fee in decision.fees)


SUMMARIES = [
    # resolution, expected sentence
    (
        None,
        "You can choose a refund of $114.05 (after a return shipping fee of $5.95), "
        "an exchange or store credit with a 10% bonus.",
    ),
    ("refund", "You'll get a refund of $114.05 (after a return shipping fee of $5.95)."),
    ("exchange", "You'll get an exchange."),
    ("store_credit", "You'll get store credit with a 10% bonus."),
]


@pytest.mark.parametrize(("resolution", "sentence"), SUMMARIES)
def test_approval_summary_names_what_the_shopper_gets(
    policy: Policy, resolution: str | None, sentence: str
) -> None:
    decision = decide(case(SHOES, resolution=resolution), policy)
    assert decision.shopper_summary.startswith("Your return of the running shoes is approved.")
    assert sentence in decision.shopper_summary
