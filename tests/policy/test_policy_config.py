"""Loading, merging and validating policy files; the catalogue and the plain-language summary."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy import (
    DEFAULT_POLICY_PATH,
    REASON_CODES,
    Policy,
    PolicyError,
    check_policy_file,
    deep_merge,
    load_policy,
    validate_policy,
)


def test_default_policy_loads(policy: Policy) -> None:
    assert policy.version == "2026-11-01.1"
    assert policy.windows["default"] == 30
    assert policy.windows["electronics"] == 14
    assert tuple(policy.reasons) == REASON_CODES
    assert policy.high_value.min_price == Decimal("300.00")
    assert policy.keep_it.max_price == Decimal("20.00")
    assert check_policy_file(DEFAULT_POLICY_PATH) == []


# --- merging -------------------------------------------------------------------------------------

MERGES = [
    # base, override, merged
    ({"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
    ({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}, {"a": {"x": 1, "y": 3}}),
    ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),  # lists replace
    ({"a": {"x": 1}}, {"a": None}, {"a": None}),
    ({"a": 1}, {}, {"a": 1}),
]


@pytest.mark.parametrize(("base", "override", "merged"), MERGES)
def test_deep_merge(base: dict[str, Any], override: dict[str, Any], merged: dict[str, Any]) -> None:
    assert deep_merge(base, override) == merged


def test_merchant_file_merges_over_defaults(tmp_path: Path) -> None:
    path = tmp_path / "acme.yml"
    path.write_text("windows:\n  apparel: 60\nkeep_it:\n  max_price: 10\n")
    policy = load_policy(path)
    assert policy.windows["apparel"] == 60
    assert policy.windows["electronics"] == 14  # untouched defaults stay
    assert policy.keep_it.max_price == Decimal("10.00")
    assert policy.keep_it.damaged_fragile is False
    assert re.fullmatch(r"2026-11-01\.1\+[0-9a-f]{8}", policy.version)
    assert load_policy(path).version == policy.version  # derived versions are stable


def test_merchant_version_wins(tmp_path: Path) -> None:
    path = tmp_path / "acme.yml"
    path.write_text('version: "acme-7"\n')
    assert load_policy(path).version == "acme-7"
    assert load_policy(overrides={"version": "x"}).version == "x"


def test_different_overrides_get_different_versions() -> None:
    first = load_policy(overrides={"windows": {"apparel": 40}})
    second = load_policy(overrides={"windows": {"apparel": 41}})
    assert first.version != second.version


def test_every_merge_result_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "acme.yml"
    path.write_text("windows:\n  apparel: 60\n")
    with pytest.raises(PolicyError, match=r"windows\.apparel: must be a positive integer"):
        load_policy(path, overrides={"windows": {"apparel": 0}})


# --- validation: each error named by its place -----------------------------------------------------

INVALID = [
    # override, expected issue
    ({"windows": {"apparel": -3}}, "windows.apparel: must be a positive integer"),
    ({"windows": {"apparel": "thirty"}}, "windows.apparel: must be a positive integer"),
    ({"windows": {"apparel": 1.5}}, "windows.apparel: must be a positive integer"),
    ({"windows": {"apparel": True}}, "windows.apparel: must be a positive integer"),
    ({"windows": None}, "windows: must be a mapping of settings"),
    ({"colour": "red"}, "colour: unknown setting"),
    ({"reasons": {"doesnt_fit": {"action": "approve"}}}, "reasons.doesnt_fit.action: must be one of"),
    ({"reasons": {"doesnt_fit": {"at_fault": "carrier"}}}, "reasons.doesnt_fit.at_fault: must be one of"),
    (
        {"reasons": {"doesnt_fit": {"photos_required": -1}}},
        "reasons.doesnt_fit.photos_required: must be a whole",
    ),
    ({"reasons": {"doesnt_fit": {"label": ""}}}, "reasons.doesnt_fit.label: must be some text"),
    ({"reasons": {"doesnt_fit": {"fees": ["nope"]}}}, "reasons.doesnt_fit.fees[0]: no fee named 'nope'"),
    (
        {"reasons": {"wrong_item": {"fees": ["return_shipping"]}}},
        "reasons.wrong_item.fees: must be empty when",
    ),
    (
        {"reasons": {"damaged_on_arrival": {"photos_required": 0}}},
        "reasons.damaged_on_arrival.photos_required: must be at least 1 when assess_damage is true",
    ),
    (
        {"reasons": {"doesnt_fit": {"resolutions": []}}},
        "reasons.doesnt_fit.resolutions: must list at least one",
    ),
    (
        {"reasons": {"doesnt_fit": {"resolutions": ["cash"]}}},
        "reasons.doesnt_fit.resolutions[0]: must be one of",
    ),
    (
        {
            "reasons": {
                "bored": {
                    "label": "x",
                    "description": "y",
                    "photos_required": 0,
                    "action": "auto_approve",
                    "at_fault": "shopper",
                }
            }
        },
        "reasons.bored: unknown reason code",
    ),
    ({"reasons": {"bored": {"label": "x"}}}, "reasons.bored.action: is required"),
    ({"damage": {"clearly_damaged": 1.2}}, "damage.clearly_damaged: must be a number between 0 and 1"),
    (
        {"damage": {"clearly_not_damaged": 0.8}},
        "damage.clearly_not_damaged: must be lower than damage.clearly_damaged",
    ),
    ({"damage": {"min_confidence": "high"}}, "damage.min_confidence: must be a number between 0 and 1"),
    ({"high_value": {"min_price": "lots"}}, "high_value.min_price: must be an amount of money"),
    ({"high_value": {"min_price": "-5"}}, "high_value.min_price: must not be negative"),
    ({"keep_it": {"reasons": ["bored"]}}, "keep_it.reasons[0]: unknown reason code 'bored'"),
    ({"keep_it": {"damaged_fragile": "maybe"}}, "keep_it.damaged_fragile: must be true or false"),
    ({"final_sale": {"review_reasons": ["bored"]}}, "final_sale.review_reasons[0]: unknown reason code"),
    ({"serial_returners": {"window_days": 0}}, "serial_returners.window_days: must be a positive integer"),
    (
        {"fees": {"return_shipping": {"percent": "5"}}},
        "fees.return_shipping: set exactly one of amount or percent",
    ),
    ({"fees": {"return_shipping": {"kind": "postage"}}}, "fees.return_shipping.kind: must be one of"),
    ({"fees": {"restocking_fee": {"percent": "150"}}}, "fees.restocking_fee.percent: must be a percentage"),
    (
        {"fees": {"return_shipping": {"amount": None, "percent": "5"}}},
        "fees.return_shipping.percent: a shipping fee must be a fixed amount",
    ),
    (
        {"resolutions": {"refund": False, "exchange": False, "store_credit": False}},
        "resolutions: enable at least one",
    ),
    (
        {"resolutions": {"store_credit_bonus_pct": "110"}},
        "resolutions.store_credit_bonus_pct: must be a percentage",
    ),
    ({"resolutions": {"fees_waived_for": ["cash"]}}, "resolutions.fees_waived_for[0]: must be one of"),
    ({"currency": "dollars"}, "currency: must be a three-letter currency code"),
    ({"timezone": "Mars/Base"}, "timezone: must be a time zone name"),
    ({"version": ""}, "version: must be some text"),
]


@pytest.mark.parametrize(("override", "expected"), INVALID)
def test_validation_names_the_place(override: dict[str, Any], expected: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(overrides=override)
    messages = [str(issue) for issue in caught.value.issues]
    assert any(message.startswith(expected) for message in messages), messages


def test_validation_reports_every_problem_at_once() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(overrides={"windows": {"apparel": 0, "home": -1}, "colour": "red"})
    assert {str(i) for i in caught.value.issues} == {
        "windows.apparel: must be a positive integer",
        "windows.home: must be a positive integer",
        "colour: unknown setting",
    }


def test_version_written_as_a_date_is_accepted() -> None:
    assert load_policy(overrides=yaml.safe_load("version: 2026-12-01")).version == "2026-12-01"


def test_missing_default_window() -> None:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    del data["windows"]["default"]
    with pytest.raises(PolicyError, match=r"windows\.default: is required"):
        validate_policy(data)


def test_missing_reason() -> None:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    del data["reasons"]["other"]
    with pytest.raises(PolicyError, match=r"reasons\.other: is required"):
        validate_policy(data)


FILE_PROBLEMS = [
    # file text, expected issue
    ("windows:\n  apparel: [1\n", "line 3, column 1: YAML syntax"),
    ("- just\n- a list\n", "(top level): must be a mapping of settings"),
    ("windows:\n  apparel: -3\n", "windows.apparel: must be a positive integer"),
]


@pytest.mark.parametrize(("text", "expected"), FILE_PROBLEMS)
def test_check_policy_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "p.yml"
    path.write_text(text)
    assert next(str(i) for i in check_policy_file(path)).startswith(expected)


def test_empty_file_is_the_default_policy(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("")
    assert check_policy_file(path) == []


# --- catalogue, photos, summary -----------------------------------------------------------------------


def test_reason_catalogue(policy: Policy) -> None:
    catalogue = policy.reason_catalogue()
    assert [r["code"] for r in catalogue] == list(REASON_CODES)
    damaged = catalogue[0]
    assert damaged["label"] == "Arrived damaged"
    assert damaged["photos_required"] == 1
    assert damaged["action"] == "auto_approve"
    assert damaged["at_fault"] == "merchant"
    assert all(r["description"] for r in catalogue)


PHOTOS_REQUIRED = [
    # reason, category, price, photos
    ("damaged_on_arrival", "home", None, 1),
    ("doesnt_fit", "footwear", None, 0),
    ("changed_mind", "electronics", Decimal("349.00"), 2),
    ("changed_mind", "electronics", Decimal("299.00"), 0),
    ("damaged_on_arrival", "electronics", Decimal("300.00"), 2),
    ("bogus", "home", None, 0),
]


@pytest.mark.parametrize(("reason", "category", "price", "count"), PHOTOS_REQUIRED)
def test_photos_required(
    policy: Policy, reason: str, category: str, price: Decimal | None, count: int
) -> None:
    assert policy.photos_required(reason, category, price) == count


def test_summary_comes_from_the_data(policy: Policy) -> None:
    lines = policy.summary()
    text = " ".join(lines)
    assert "within 30 days of delivery (electronics: 14 days)" in text
    assert "Final-sale items can't be returned." in lines
    assert "$20.00 or less" in text
    assert "$300.00 or more" in text
    assert "store credit with a 10% bonus" in text
    assert "$5.95" in text
    assert all(line.endswith(".") and "None" not in line for line in lines)

    changed = load_policy(
        overrides={
            "windows": {
                "default": 60,
                "electronics": 60,
                "footwear": 60,
                "apparel": 60,
                "home": 60,
                "accessories": 60,
            },
            "keep_it": {"max_price": "12.50"},
            "final_sale": {"review_reasons": ["damaged_on_arrival"]},
            "currency": "EUR",
        }
    )
    text = " ".join(changed.summary())
    assert "within 60 days of delivery." in text
    assert "€12.50 or less" in text
    assert "our team reviews them only for: Arrived damaged" in text


def test_public_dict(policy: Policy) -> None:
    data = policy.public_dict()
    assert data["version"] == policy.version
    assert data["windows"]["electronics"] == 14
    assert [r["code"] for r in data["reasons"]] == list(REASON_CODES)
    assert data["summary"] == policy.summary()
