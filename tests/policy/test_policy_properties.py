"""Invariants that hold for any facts and any of a few policies (hypothesis)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy import (
    REASON_CODES,
    RESOLUTIONS,
    CustomerHistory,
    DamageEvidence,
    ItemFacts,
    OrderFacts,
    Policy,
    ReturnCase,
    decide,
    load_policy,
)
from policy.messages import TEMPLATES

TODAY = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
CATEGORIES = ("footwear", "apparel", "home", "electronics", "accessories", "garden")

POLICIES: tuple[Policy, ...] = (
    load_policy(),
    load_policy(overrides={"final_sale": {"review_reasons": list(REASON_CODES)}}),
    load_policy(
        overrides={
            "keep_it": {"max_price": "0", "damaged_fragile": True},
            "fees": {
                "return_shipping": {"amount": "500.00"},
                "restocking_fee": {"percent": "100", "categories": None},
            },
            "reasons": {"defective": {"action": "auto_approve", "assess_damage": True}},
        }
    ),
    load_policy(
        overrides={
            "reasons": {"changed_mind": {"action": "auto_reject"}, "other": {"action": "auto_approve"}},
            "timezone": "Pacific/Auckland",
            "resolutions": {"exchange": False, "fees_waived_for": []},
        }
    ),
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

probability = st.floats(min_value=0, max_value=1, allow_nan=False)


@st.composite
def evidence(draw: st.DrawFn) -> DamageEvidence:
    ok = draw(st.booleans())
    return DamageEvidence(
        damage_probability=draw(probability),
        confidence=draw(probability),
        severity=draw(st.sampled_from(("none", "minor", "severe"))),
        quality_ok=ok,
        quality_issues=() if ok else ("blurred",),
        quality_message="" if ok else "That photo is blurred, please retake it.",
        unusable_probability=draw(probability),
    )


def bad_evidence(photo: DamageEvidence) -> DamageEvidence:
    return dataclasses.replace(
        photo, quality_ok=False, quality_issues=("too_dark",), quality_message="Too dark."
    )


@st.composite
def items(draw: st.DrawFn, item_id: str) -> ItemFacts:
    ordered = draw(st.integers(1, 3))
    photos = tuple(draw(st.lists(evidence(), max_size=3)))
    return ItemFacts(
        item_id=item_id,
        name=f"item {item_id}",
        category=draw(st.sampled_from(CATEGORIES)),
        price=draw(st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)),
        reason_code=draw(st.sampled_from((*REASON_CODES, "bogus"))),
        quantity=draw(st.integers(0, 3)),
        quantity_ordered=ordered,
        quantity_returned=draw(st.integers(0, ordered)),
        final_sale=draw(st.booleans()),
        fragile=draw(st.booleans()),
        photos=photos,
        photo_count=draw(st.none() | st.integers(len(photos), len(photos) + 2)),
        exchange_in_stock=draw(st.sampled_from((None, True, False))),
    )


@st.composite
def cases(draw: st.DrawFn) -> ReturnCase:
    status = draw(st.sampled_from(("placed", "shipped", "delivered", "delivered", "cancelled")))
    days = draw(st.none() | st.integers(0, 60))
    hours = draw(st.integers(0, 23))
    delivered_at = None if days is None else TODAY - dt.timedelta(days=days, hours=hours)
    count = draw(st.integers(1, 3))
    return ReturnCase(
        order=OrderFacts("1", status, delivered_at),
        items=tuple(draw(items(str(i))) for i in range(count)),
        today=TODAY,
        customer=CustomerHistory(
            return_dates=tuple(
                TODAY - dt.timedelta(days=d) for d in draw(st.lists(st.integers(0, 200), max_size=8))
            ),
            rejected_returns=draw(st.integers(0, 6)),
        ),
        resolution=draw(st.sampled_from((None, *RESOLUTIONS))),
    )


policies = st.sampled_from(POLICIES)
KNOWN_CODES = set(TEMPLATES) - {"fee"}


@SETTINGS
@given(cases(), policies)
def test_final_sale_is_never_approved(case: ReturnCase, policy: Policy) -> None:
    decision = decide(case, policy)
    for facts, item in zip(case.items, decision.items, strict=True):
        if facts.final_sale:
            assert item.outcome in ("reject", "review", "need_photos")
            assert item.outcome != "approve"
    if all(i.final_sale for i in case.items):
        assert decision.outcome != "approve"


@SETTINGS
@given(cases(), policies)
def test_refund_never_exceeds_what_was_paid(case: ReturnCase, policy: Policy) -> None:
    decision = decide(case, policy)
    paid = sum((i.paid for i in case.items), Decimal(0))
    assert Decimal(0) <= decision.refund_amount <= paid
    for item in decision.items:
        assert Decimal(0) <= item.refund_amount <= item.paid
    returnable_paid = sum((i.paid for i in decision.items if i.outcome != "reject"), Decimal(0))
    assert decision.refund_amount + sum((f.amount for f in decision.fees), Decimal(0)) == returnable_paid
    if decision.outcome == "reject":
        assert decision.refund_amount == 0
        assert decision.resolutions == ()


@SETTINGS
@given(cases(), policies)
def test_unusable_photos_never_lead_to_a_rejection(case: ReturnCase, policy: Policy) -> None:
    with_bad = dataclasses.replace(
        case,
        items=tuple(dataclasses.replace(i, photos=tuple(map(bad_evidence, i.photos))) for i in case.items),
    )
    without = dataclasses.replace(
        case, items=tuple(dataclasses.replace(i, photos=(), photo_count=0) for i in case.items)
    )
    bad_decision = decide(with_bad, policy)
    bare_decision = decide(without, policy)
    for bad, bare in zip(bad_decision.items, bare_decision.items, strict=True):
        if bad.outcome == "reject":
            assert bare.outcome == "reject"
    for rule in bad_decision.rules:
        if rule.code.startswith(("photos.", "damage.")):
            assert rule.effect != "reject"


@SETTINGS
@given(cases(), policies)
def test_not_delivered_is_never_approved(case: ReturnCase, policy: Policy) -> None:
    if case.order.status == "delivered" and case.order.delivered_at is not None:
        return
    decision = decide(case, policy)
    assert decision.outcome == "reject"
    assert all("not_delivered" in [r.code for r in item.rules] for item in decision.items)


@SETTINGS
@given(cases(), policies)
def test_decisions_are_deterministic_and_well_formed(case: ReturnCase, policy: Policy) -> None:
    first = decide(case, policy)
    again = decide(dataclasses.replace(case), policy)
    assert first == again
    assert first.to_dict() == again.to_dict()
    assert first.outcome in ("approve", "reject", "review", "need_photos")
    assert first.policy_version == policy.version
    assert first.shopper_summary.strip()
    assert all(r.code in KNOWN_CODES or r.code.startswith("fee.") for r in first.rules)
    assert (first.outcome == "need_photos") == (first.ask_for.photos > 0)
    if first.outcome == "approve":
        effects = {r.effect for item in first.items if item.outcome != "reject" for r in item.rules}
        assert effects <= {"approve", "info"}
