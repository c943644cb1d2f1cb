"""actions/parsing.py: what shoppers type -> normalised values. Table-driven."""

from __future__ import annotations

from datetime import date

import pytest

from actions.parsing import (
    parse_email,
    parse_item_choice,
    parse_order_number,
    parse_pickup_choice,
    parse_postcode,
    parse_proof,
    parse_reason,
    parse_resolution,
    parse_rma,
    parse_variant,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100231", "100231"),
        ("#100231", "100231"),
        ("ORD-100231", "100231"),
        ("ord100231", "100231"),
        ("order no. 100231", "100231"),
        ("Order No 100231", "100231"),
        ("order number: 100231", "100231"),
        ("my order is 100231.", "100231"),
        ("its 100231 thx", "100231"),
        ("order #1045", "1045"),
        ("jane@example.com", None),
        ("no idea", None),
        ("it was 2024", None),
        ("", None),
        (None, None),
    ],
)
def test_order_numbers(text: str | None, expected: str | None) -> None:
    assert parse_order_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jane@example.com", "jane@example.com"),
        ("my email is Jane@Example.COM.", "jane@example.com"),
        ("raj.patel+shop@mail.co.uk", "raj.patel+shop@mail.co.uk"),
        ("jane at example dot com", None),
    ],
)
def test_emails(text: str, expected: str | None) -> None:
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10001", "10001"),
        ("zip 02139", "02139"),
        ("94107-1234", "94107-1234"),
        ("SW1A 1AA", "SW1A 1AA"),
        ("sw1a1aa", "SW1A 1AA"),
        ("M5V 3L9", "M5V 3L9"),
        ("1012 AB", "1012 AB"),
        ("hello", None),
    ],
)
def test_postcodes(text: str, expected: str | None) -> None:
    assert parse_postcode(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jane@example.com", ("email", "jane@example.com")),
        ("postcode is 10001", ("postcode", "10001")),
        ("yes", None),
    ],
)
def test_proof(text: str, expected: tuple[str, str] | None) -> None:
    assert parse_proof(text) == expected


ITEMS = [{"id": 1, "name": "Running shoes"}, {"id": 2, "name": "Cotton t-shirt"}]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("item-2", ["2"]),
        (["item-1", "item-2"], ["1", "2"]),
        ("2", ["2"]),
        ("#1", ["1"]),
        ("the first one", ["1"]),
        ("the second one", ["2"]),
        ("last one", ["2"]),
        ("the shoes", ["1"]),
        ("runing shoes", ["1"]),
        ("tshirt", ["2"]),
        ("the t shirt", ["2"]),
        ("1 and 2", ["1", "2"]),
        ("shoes and t-shirt", ["1", "2"]),
        ("both", ["1", "2"]),
        ("all", ["1", "2"]),
        ("all of them", ["1", "2"]),
        ("3", []),
        ("the vase", []),
        ("yes", []),
        ('/inform{"item": "all"}', []),
        (None, []),
    ],
)
def test_item_choice(value: str | list[str] | None, expected: list[str]) -> None:
    assert parse_item_choice(value, ITEMS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("doesnt_fit", "doesnt_fit"),
        ('/inform{"return_reason": "wrong_item"}', "wrong_item"),
        ("Arrived damaged", "damaged_on_arrival"),
        ("too small", "doesnt_fit"),
        ("they are way too big", "doesnt_fit"),
        ("doesn't fit", "doesnt_fit"),
        ("I ordered the wrong size", "doesnt_fit"),
        ("they sent the wrong size", "wrong_item"),
        ("not what i ordered", "wrong_item"),
        ("it arrived cracked", "damaged_on_arrival"),
        ("the box was crushed and the vase is smashed", "damaged_on_arrival"),
        ("stopped working after a day", "defective"),
        ("wont turn on", "defective"),
        ("looks nothing like the picture", "not_as_described"),
        ("poor quality", "not_as_described"),
        ("changed my mind", "changed_mind"),
        ("dont need it anymore", "changed_mind"),
        ("arrived too late for the party", "arrived_late"),
        ("something else", "other"),
        ("asdf", None),
        ("", None),
    ],
)
def test_reasons(text: str, expected: str | None) -> None:
    assert parse_reason(text) == expected


@pytest.mark.parametrize(
    ("text", "allowed", "expected"),
    [
        ("refund", None, "refund"),
        ("i just want my money back", None, "refund"),
        ("exchange please", None, "exchange"),
        ("swap for a bigger size", None, "exchange"),
        ("store credit", None, "store_credit"),
        ("a voucher is fine", None, "store_credit"),
        ("2", ["refund", "exchange", "store_credit"], "exchange"),
        ("refund", ["exchange", "store_credit"], None),
        ("hmm", None, None),
    ],
)
def test_resolutions(text: str, allowed: list[str] | None, expected: str | None) -> None:
    assert parse_resolution(text, allowed) == expected


VARIANTS = [{"id": 11, "name": "EU 41"}, {"id": 12, "name": "EU 42"}, {"id": 13, "name": "EU 43"}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("variant-13", "13"),
        ("EU 41", "11"),
        ("42", "12"),
        ("the first", "11"),
        ("variant-99", None),
        ("size 45", None),
    ],
)
def test_variants(text: str, expected: str | None) -> None:
    assert parse_variant(text, VARIANTS) == expected


SLOTS = [
    {"date": "2026-11-27", "window": "morning", "available": True},
    {"date": "2026-11-27", "window": "afternoon", "available": True},
    {"date": "2026-11-30", "window": "morning", "available": True},
    {"date": "2026-11-30", "window": "afternoon", "available": False},
]
TODAY = date(2026, 11, 26)  # a Thursday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27|afternoon", ("2026-11-27", "afternoon")),
        ("2026-11-30|afternoon", None),  # not available
        ("tomorrow morning", ("2026-11-27", "morning")),
        ("fri afternoon", ("2026-11-27", "afternoon")),
        ("monday", ("2026-11-30", "morning")),
        ("monday afternoon", None),
        ("27th pm", ("2026-11-27", "afternoon")),
        ("nov 30 am", ("2026-11-30", "morning")),
        ("the first one", ("2026-11-27", "morning")),
        ("3", ("2026-11-30", "morning")),
        ("earliest afternoon", ("2026-11-27", "afternoon")),
        ("whenever", None),
    ],
)
def test_pickup_choice(text: str, expected: tuple[str, str] | None) -> None:
    choice = parse_pickup_choice(text, SLOTS, today=TODAY)
    assert (None if choice is None else (choice["date"], choice["window"])) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RMA-1A2B3C4D", "RMA-1A2B3C4D"),
        ("where is rma-1a2b3c4d", "RMA-1A2B3C4D"),
        ("RMA 1A2B3C4D", "RMA-1A2B3C4D"),
        ("100231", None),
    ],
)
def test_rma(text: str, expected: str | None) -> None:
    assert parse_rma(text) == expected
