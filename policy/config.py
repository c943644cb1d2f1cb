"""The merchant's return policy: a YAML file validated into a typed, frozen `Policy`.

`load_policy()` reads `default_policy.yml`, deep-merges merchant overrides over it and
validates every merge result; any problem raises `PolicyError` naming each bad setting
by its place (`windows.apparel: must be a positive integer`).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator
from pydantic_core import ErrorDetails

from policy.money import to_money

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.yml")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

REASON_CODES: tuple[str, ...] = (
    "damaged_on_arrival",
    "defective",
    "wrong_item",
    "doesnt_fit",
    "not_as_described",
    "changed_mind",
    "arrived_late",
    "other",
)
RESOLUTIONS: tuple[str, ...] = ("refund", "exchange", "store_credit")

Action = Literal["auto_approve", "manual_review", "auto_reject"]
Fault = Literal["merchant", "shopper"]
Resolution = Literal["refund", "exchange", "store_credit"]
FeeKind = Literal["shipping", "restocking"]


# --- value types with merchant-readable error messages ---------------------------------


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be a whole number, 0 or more")
    return value


def _probability(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError("must be a number between 0 and 1")
    return float(value)


def _money(value: object) -> Decimal:
    amount = to_money(value)
    if amount < 0:
        raise ValueError("must not be negative")
    return amount


def _percent(value: object) -> Decimal:
    amount = to_money(value)
    if not 0 <= amount <= 100:
        raise ValueError("must be a percentage between 0 and 100")
    return amount


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be some text")
    return value.strip()


def _version(value: object) -> str:
    if isinstance(value, (dt.date, int, float)) and not isinstance(value, bool):
        value = str(value)
    return _text(value)


PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
Count = Annotated[int, BeforeValidator(_count)]
Probability = Annotated[float, BeforeValidator(_probability)]
Money = Annotated[Decimal, BeforeValidator(_money)]
Percent = Annotated[Decimal, BeforeValidator(_percent)]
Text = Annotated[str, BeforeValidator(_text)]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReasonRule(_Settings):
    label: Text
    description: Text
    photos_required: Count
    photos_by_category: dict[str, Count] = {}
    action: Action
    at_fault: Fault
    assess_damage: bool = False
    fees: tuple[str, ...] = ()
    resolutions: tuple[Resolution, ...] | None = None


class FinalSaleRules(_Settings):
    review_reasons: tuple[str, ...] = ()


class FeeRule(_Settings):
    label: Text
    kind: FeeKind
    amount: Money | None = None
    percent: Percent | None = None
    categories: tuple[str, ...] | None = None


class DamageRules(_Settings):
    clearly_damaged: Probability
    clearly_not_damaged: Probability
    min_confidence: Probability
    max_unusable_probability: Probability


class HighValueRules(_Settings):
    min_price: Money
    photos_required: Count


class KeepItRules(_Settings):
    max_price: Money
    reasons: tuple[str, ...] | None = None
    damaged_fragile: bool = False


class SerialReturnerRules(_Settings):
    window_days: PositiveInt
    max_returns: Count
    max_rejected: Count


class ResolutionRules(_Settings):
    refund: bool
    exchange: bool
    store_credit: bool
    store_credit_bonus_pct: Percent
    fees_waived_for: tuple[Resolution, ...] = ()

    def enabled(self) -> tuple[str, ...]:
        return tuple(name for name in RESOLUTIONS if getattr(self, name))


class Policy(_Settings):
    """A validated return policy. Build it with `load_policy()`."""

    version: Annotated[str, BeforeValidator(_version)]
    name: Text
    currency: str
    timezone: str
    windows: dict[str, PositiveInt]
    final_sale: FinalSaleRules
    reasons: dict[str, ReasonRule]
    fees: dict[str, FeeRule] = {}
    damage: DamageRules
    high_value: HighValueRules
    keep_it: KeepItRules
    serial_returners: SerialReturnerRules
    resolutions: ResolutionRules

    @field_validator("currency", mode="before")
    @classmethod
    def _check_currency(cls, value: object) -> str:
        if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
            raise ValueError('must be a three-letter currency code such as "USD"')
        return value.upper()

    @field_validator("timezone", mode="before")
    @classmethod
    def _check_timezone(cls, value: object) -> str:
        try:
            ZoneInfo(str(value))
        except (ValueError, KeyError, OSError) as exc:
            raise ValueError('must be a time zone name such as "Europe/Berlin"') from exc
        return str(value)

    # --- questions callers ask -------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def window_days(self, category: str) -> int:
        return self.windows.get(category, self.windows["default"])

    def reason(self, code: str) -> ReasonRule | None:
        return self.reasons.get(code)

    def photos_required(self, reason_code: str, item_category: str, price: Decimal | None = None) -> int:
        """Photos the shopper must send for this reason and category (and price, if known)."""
        rule = self.reasons.get(reason_code)
        count = 0
        if rule is not None:
            count = rule.photos_by_category.get(item_category, rule.photos_required)
        if price is not None and price >= self.high_value.min_price:
            count = max(count, self.high_value.photos_required)
        return count

    def reason_catalogue(self) -> list[dict[str, Any]]:
        """The reasons a shopper can pick, in catalogue order, for menus and NLU buttons."""
        return [
            {
                "code": code,
                "label": rule.label,
                "description": rule.description,
                "photos_required": rule.photos_required,
                "photos_by_category": dict(rule.photos_by_category),
                "action": rule.action,
                "at_fault": rule.at_fault,
            }
            for code, rule in self.reasons.items()
        ]

    def summary(self) -> list[str]:
        """Plain-language lines answering "what is your return policy?", built from the data."""
        from policy.summary import policy_summary

        return policy_summary(self)

    def public_dict(self) -> dict[str, Any]:
        """What `GET /api/v1/policy` shows: version, windows, reasons and the summary."""
        return {
            "version": self.version,
            "name": self.name,
            "windows": dict(self.windows),
            "reasons": self.reason_catalogue(),
            "summary": self.summary(),
        }


# --- errors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyIssue:
    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message


class PolicyError(ValueError):
    """A policy (or a case) that cannot be used; `issues` names each problem by its place."""

    def __init__(self, issues: list[PolicyIssue] | str) -> None:
        if isinstance(issues, str):
            issues = [PolicyIssue("", issues)]
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unknown setting",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "dict_type": "must be a mapping of settings",
    "model_type": "must be a mapping of settings",
    "model_attributes_type": "must be a mapping of settings",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
}


def _place(loc: tuple[int | str, ...]) -> str:
    place = ""
    for part in loc:
        if isinstance(part, int):
            place += f"[{part}]"
        elif part == "[key]":
            place += " (name)"
        else:
            place += f".{part}" if place else str(part)
    return place


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "value_error":
        return error["msg"].removeprefix("Value error, ")
    if kind == "literal_error":
        return "must be one of " + str(error.get("ctx", {}).get("expected", ""))
    return _MESSAGES.get(kind, error["msg"])


def issues_from_validation(error: ValidationError) -> list[PolicyIssue]:
    return [PolicyIssue(_place(e["loc"]), _message(e)) for e in error.errors()]


def _cross_checks(policy: Policy) -> list[PolicyIssue]:
    issues: list[PolicyIssue] = []
    add = issues.append
    if "default" not in policy.windows:
        add(PolicyIssue("windows.default", "is required"))
    for code in REASON_CODES:
        if code not in policy.reasons:
            add(PolicyIssue(f"reasons.{code}", "is required"))
    for code, rule in policy.reasons.items():
        if code not in REASON_CODES:
            add(PolicyIssue(f"reasons.{code}", "unknown reason code; use one of " + ", ".join(REASON_CODES)))
        for index, fee in enumerate(rule.fees):
            if fee not in policy.fees:
                add(PolicyIssue(f"reasons.{code}.fees[{index}]", f"no fee named {fee!r} in fees"))
        if rule.fees and rule.at_fault == "merchant":
            add(PolicyIssue(f"reasons.{code}.fees", "must be empty when at_fault is merchant"))
        if rule.assess_damage and min([rule.photos_required, *rule.photos_by_category.values()]) < 1:
            add(
                PolicyIssue(
                    f"reasons.{code}.photos_required", "must be at least 1 when assess_damage is true"
                )
            )
        if rule.resolutions is not None and not rule.resolutions:
            add(PolicyIssue(f"reasons.{code}.resolutions", "must list at least one resolution"))
    for code, fee_rule in policy.fees.items():
        if (fee_rule.amount is None) == (fee_rule.percent is None):
            add(PolicyIssue(f"fees.{code}", "set exactly one of amount or percent"))
        if fee_rule.kind == "shipping" and fee_rule.percent is not None:
            add(PolicyIssue(f"fees.{code}.percent", "a shipping fee must be a fixed amount"))
    _check_reason_list(issues, "final_sale.review_reasons", policy.final_sale.review_reasons)
    _check_reason_list(issues, "keep_it.reasons", policy.keep_it.reasons or ())
    if policy.damage.clearly_not_damaged >= policy.damage.clearly_damaged:
        add(PolicyIssue("damage.clearly_not_damaged", "must be lower than damage.clearly_damaged"))
    if not policy.resolutions.enabled():
        add(PolicyIssue("resolutions", "enable at least one of refund, exchange, store_credit"))
    return issues


def _check_reason_list(issues: list[PolicyIssue], place: str, codes: tuple[str, ...]) -> None:
    for index, code in enumerate(codes):
        if code not in REASON_CODES:
            issues.append(PolicyIssue(f"{place}[{index}]", f"unknown reason code {code!r}"))


def validate_policy(data: Mapping[str, Any]) -> Policy:
    """Validate a complete policy mapping; raise PolicyError listing every problem."""
    try:
        policy = Policy.model_validate(dict(data))
    except ValidationError as exc:
        raise PolicyError(issues_from_validation(exc)) from None
    issues = _cross_checks(policy)
    if issues:
        raise PolicyError(issues)
    return policy


# --- loading and merging -------------------------------------------------------------------


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; any other value (lists included) replaces the base one."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_policy_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML policy file; a syntax error names its line and column.

    Parsed files are cached by path, size and modification time (callers get a copy).
    """
    stat = Path(path).stat()
    return copy.deepcopy(_parse_policy_file(str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=32)
def _parse_policy_file(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else path
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise PolicyError([PolicyIssue(where, f"YAML syntax: {problem}")]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyError([PolicyIssue("(top level)", "must be a mapping of settings")])
    return data


def _layer_version(previous: str, layer: Mapping[str, Any]) -> str:
    canonical = json.dumps(layer, sort_keys=True, default=str).encode()
    return f"{previous}+{hashlib.sha256(canonical).hexdigest()[:8]}"


def merge_layers(layers: list[Mapping[str, Any]]) -> Policy:
    """Merge policy layers in order, validating each result.

    A layer that does not set `version` gets a derived one (`<previous>+<hash>`), so two
    different merchant files never share a version.
    """
    data: dict[str, Any] = {}
    policy: Policy | None = None
    for layer in layers:
        data = deep_merge(data, layer)
        if policy is not None and "version" not in layer:
            data["version"] = _layer_version(policy.version, layer)
        policy = validate_policy(data)
    if policy is None:
        raise PolicyError("no policy data")
    return policy


def load_policy(path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None) -> Policy:
    """The default policy, with the merchant file at `path` and then `overrides` merged on top."""
    layers: list[Mapping[str, Any]] = [read_policy_file(DEFAULT_POLICY_PATH)]
    if path is not None:
        layers.append(read_policy_file(path))
    if overrides:
        layers.append(overrides)
    return merge_layers(layers)


def check_policy_file(path: str | Path) -> list[PolicyIssue]:
    """Every problem with a merchant file merged over the defaults; [] when it is usable."""
    try:
        load_policy(path)
    except PolicyError as exc:
        return exc.issues
    except OSError as exc:
        return [PolicyIssue(str(path), exc.strerror or "cannot be read")]
    return []
