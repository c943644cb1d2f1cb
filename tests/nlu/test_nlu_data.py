"""Checks on the Rasa NLU training data (nlu_data/) and the held-out test set.

Runs in the project's Python 3.11 venv with pyyaml only (no rasa import): it parses the
Rasa 3.x YAML and the inline entity markup itself.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
NLU_DIR = ROOT / "nlu_data"
TEST_SET = ROOT / "tests" / "nlu" / "test_messages.yml"

CONTRACT_INTENTS = {
    "greet", "goodbye", "affirm", "deny", "thank", "bot_challenge", "start_return",
    "exchange_request", "order_status", "return_status", "refund_status", "return_policy",
    "cancel_return", "reschedule_pickup", "human_handoff", "inform", "out_of_scope",
}  # fmt: skip
CONTRACT_ENTITIES = {"order_number", "email", "postcode", "return_reason", "item"}
REASON_CODES = {
    "damaged_on_arrival", "defective", "wrong_item", "doesnt_fit",
    "not_as_described", "changed_mind", "arrived_late", "other",
}  # fmt: skip
MIN_EXAMPLES = 40

# Rasa's markup: [text](entity) or [text]{"entity": ..., "value": ...}
ENTITY_MARKUP = re.compile(
    r"\[(?P<text>[^\]]+?)\](?:\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)|\{(?P<dict>[^}]+?)\})"
)


def parse_example(raw: str) -> tuple[str, list[dict]]:
    """Plain text and entities (start, end, entity, value) of one annotated example."""
    text, entities, pos = [], [], 0
    offset = 0
    for m in ENTITY_MARKUP.finditer(raw):
        before = raw[pos : m.start()]
        text.append(before)
        offset += len(before)
        span = m.group("text")
        if m.group("dict"):
            d = json.loads("{" + m.group("dict") + "}")
            entity, value = d["entity"], d.get("value", span)
        else:
            entity, value = m.group("entity"), m.group("value") or span
        entities.append(
            {"start": offset, "end": offset + len(span), "entity": entity, "value": value, "text": span}
        )
        text.append(span)
        offset += len(span)
        pos = m.end()
    text.append(raw[pos:])
    return "".join(text), entities


def load_nlu(paths: list[Path]) -> dict:
    """intent -> [(raw, file)], plus regexes, lookups and synonyms."""
    data: dict = {"intents": defaultdict(list), "regex": {}, "lookup": {}, "synonym": {}}
    for path in paths:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert str(doc.get("version")) == "3.1", f'{path}: version must be "3.1"'
        for block in doc.get("nlu", []):
            lines = [line[2:].strip() for line in block["examples"].splitlines() if line.strip()]
            assert all(line.startswith("- ") for line in block["examples"].splitlines() if line.strip()), (
                f"{path}: every example line starts with '- '"
            )
            for kind in ("intent", "regex", "lookup", "synonym"):
                if kind in block:
                    name = block[kind]
                    if kind == "intent":
                        data["intents"][name].extend((line, path.name) for line in lines)
                    else:
                        data[kind].setdefault(name, []).extend(lines)
    return data


@cache
def training() -> dict:
    return load_nlu(sorted(NLU_DIR.rglob("*.yml")))


@cache
def heldout() -> dict:
    return load_nlu([TEST_SET])


def normalise(raw: str) -> str:
    text, _ = parse_example(raw)
    words = re.sub(r"[^\w]+", " ", text.lower()).split()
    return " ".join(words) if words else text.strip()


def all_examples(data: dict):
    for intent, examples in data["intents"].items():
        for raw, fname in examples:
            yield intent, raw, fname


# --- Rasa's WhitespaceTokenizer (3.6), without the emoji step, to check alignment ----------
_TOKEN_SPLIT = re.compile(
    r"[^\w#@&]+(?=\s|$)|"
    r"(\s|^)[^\w#@&]+(?=[^0-9\s])|"
    r"(?<=[^0-9\s])[^\w._~:/?#\[\]()@!$&*+,;=-]+(?=[^0-9\s])"
)


def token_spans(text: str) -> list[tuple[int, int]]:
    words = _TOKEN_SPLIT.sub(" ", text).split()
    spans, running = [], 0
    for w in words:
        start = text.index(w, running)
        spans.append((start, start + len(w)))
        running = start + len(w)
    return spans


def compiled(name: str) -> list[re.Pattern]:
    return [re.compile(p, re.IGNORECASE) for p in training()["regex"][name]]


def matches(name: str, text: str) -> list[str]:
    return [m.group() for pattern in compiled(name) for m in pattern.finditer(text)]


# --- intents --------------------------------------------------------------------------------
def test_intents_are_exactly_the_contract():
    intents = set(training()["intents"])
    assert intents == CONTRACT_INTENTS, {
        "missing": CONTRACT_INTENTS - intents,
        "not in the contract": intents - CONTRACT_INTENTS,
    }


@pytest.mark.parametrize("intent", sorted(CONTRACT_INTENTS))
def test_each_intent_has_enough_examples(intent):
    assert len(training()["intents"][intent]) >= MIN_EXAMPLES


def test_no_example_in_two_intents_or_twice_in_one():
    seen: dict[str, tuple[str, str]] = {}
    problems = []
    for intent, raw, fname in all_examples(training()):
        key = normalise(raw)
        if key in seen:
            problems.append((raw, intent, fname, seen[key]))
        else:
            seen[key] = (intent, raw)
    assert not problems, problems


def test_test_set_covers_every_intent_and_entity():
    data = heldout()
    assert set(data["intents"]) == CONTRACT_INTENTS
    entities = {e["entity"] for _, raw, _ in all_examples(data) for e in parse_example(raw)[1]}
    assert entities == CONTRACT_ENTITIES


def test_test_set_shares_no_example_with_training():
    train = {normalise(raw) for _, raw, _ in all_examples(training())}
    shared = [raw for _, raw, _ in all_examples(heldout()) if normalise(raw) in train]
    assert not shared, shared


def test_test_set_has_no_duplicates():
    keys = [normalise(raw) for _, raw, _ in all_examples(heldout())]
    assert len(keys) == len(set(keys))


# --- entities -------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["training", "test"])
def test_annotated_entities_are_in_the_contract_and_token_aligned(which):
    data = training() if which == "training" else heldout()
    problems = []
    for _, raw, _ in all_examples(data):
        text, entities = parse_example(raw)
        spans = token_spans(text)
        starts, ends = {s for s, _ in spans}, {e for _, e in spans}
        for e in entities:
            if e["entity"] not in CONTRACT_ENTITIES:
                problems.append(("unknown entity", raw))
            if e["start"] not in starts or e["end"] not in ends:
                problems.append(("span not on token boundaries", raw))
    assert not problems, problems


def test_photo_uploaded_has_no_examples():
    assert "photo_uploaded" not in training()["intents"]


ORDER_FORMS = [
    # DESIGN.md, "forms seen in the wild"
    "100231", "#100231", "ORD-100231", "order no. 100231",
    # and what shoppers also type
    "order 100231", "ord100231", "Order #100231", "order#100231", "ORD100231",
    "my order number is 100231.", "(#100231)", "order no 100231 pls",
]  # fmt: skip
NOT_ORDER_NUMBERS = [
    # 5-digit ZIPs of the demo orders and other postcodes
    "10001", "94107", "60601", "02139", "73301", "98101", "30301", "zip 10001",
    "10001-1234", "SW1A 1AA",
    # phone numbers
    "415-555-0199", "+1 415 555 0199", "(415) 555-0199", "4155550199", "07700 900123",
    "+44 7700 900123", "020 7946 0958", "+4915112345678", "call me on 0151 496 0123",
    # not order numbers either
    "jane@example.com", "RMA-100231-1", "size 10", "2",
]  # fmt: skip


@pytest.mark.parametrize("text", ORDER_FORMS)
def test_order_number_regex_matches_every_form(text):
    found = matches("order_number", text)
    assert found and all("100231" in f for f in found), found


def test_order_number_regex_matches_the_forms_named_in_design_md():
    design = ROOT.parent / "shared" / "DESIGN.md"
    if not design.exists():
        pytest.skip("../shared/DESIGN.md not present")
    found = re.search(r"forms seen in the wild:(.*?)\)", design.read_text(), re.S)
    if found is None:
        pytest.skip("DESIGN.md does not list order-number forms")
    forms = re.findall(r"`([^`]+)`", found.group(1))
    assert forms
    for form in forms:
        assert matches("order_number", form), form


@pytest.mark.parametrize("text", NOT_ORDER_NUMBERS)
def test_order_number_regex_rejects_postcodes_and_phone_numbers(text):
    assert not matches("order_number", text)


def test_order_number_regex_marks_only_the_identifying_token():
    assert matches("order_number", "order no. 100231") == ["100231"]
    assert matches("order_number", "my order 100231 please") == ["100231"]


@pytest.mark.parametrize(
    "text", ["10001", "94107", "60601", "02139", "73301", "98101", "30301",
             "SW1A 1AA", "sw1a1aa", "M1 1AE", "EC1A 1BB", "B33 8TH", "10001-1234"]
)  # fmt: skip
def test_postcode_regex(text):
    assert matches("postcode", text) == [text]


def test_postcode_regex_does_not_take_order_numbers():
    for text in ["100231", "#100231", "ORD-100231", "ord100231"]:
        assert not matches("postcode", text), text


@pytest.mark.parametrize(
    "text",
    [
        "jane@example.com",
        "raj@example.com",
        "JANE@EXAMPLE.COM",
        "kim_lee@yahoo.co.uk",
        "anna+shop@outlook.com",
    ],
)
def test_email_regex(text):
    assert matches("email", f"my email is {text}.") == [text]


def test_annotated_order_numbers_contain_digits_and_no_words_around():
    for data in (training(), heldout()):
        for _, raw, _ in all_examples(data):
            for e in parse_example(raw)[1]:
                if e["entity"] == "order_number":
                    assert re.search(r"\d{3}", e["text"]), raw
                    assert " " not in e["text"], f"annotate only the identifier: {raw}"


# --- reasons --------------------------------------------------------------------------------
def _catalogue_codes() -> set[str]:
    """The policy's reason catalogue where the policy package is importable."""
    try:
        from policy import load_policy  # type: ignore[import-not-found]

        return {r["code"] for r in load_policy().reason_catalogue()}
    except Exception:
        return REASON_CODES


def test_every_reason_synonym_maps_to_a_catalogue_code():
    codes = _catalogue_codes()
    synonyms = training()["synonym"]
    assert set(synonyms) <= codes, set(synonyms) - codes
    # one phrase, one code
    owner: dict[str, str] = {}
    for code, phrases in synonyms.items():
        for p in phrases:
            assert owner.setdefault(p.lower(), code) == code, (p, code, owner[p.lower()])


def test_every_annotated_reason_normalises_to_a_code():
    codes = _catalogue_codes()
    synonyms = {p.lower(): code for code, ps in training()["synonym"].items() for p in ps}
    problems = []
    for data in (training(), heldout()):
        for _, raw, _ in all_examples(data):
            for e in parse_example(raw)[1]:
                if e["entity"] != "return_reason":
                    continue
                value = e["value"] if e["value"] != e["text"] else e["text"]
                code = value if value in codes else synonyms.get(value.lower())
                if code not in codes:
                    problems.append(raw)
    assert not problems, problems


def test_lookup_tables_exist_for_items_and_reasons():
    lookups = training()["lookup"]
    assert len(lookups.get("item", [])) >= 50
    for word in [
        "vase",
        "running shoes",
        "t-shirt",
        "jacket",
        "headphones",
        "swimsuit",
        "lamp",
        "phone case",
    ]:
        assert word in lookups["item"], word
    assert lookups.get("return_reason")
