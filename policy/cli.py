"""`python -m policy check|explain|summary`: validate a policy, explain a case, print the summary."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from policy.config import Policy, PolicyError, check_policy_file, load_policy
from policy.decision import Decision, ItemDecision
from policy.engine import decide
from policy.facts import ReturnCase
from policy.money import format_money


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m policy", description="The return policy: check, explain, summary."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="validate policy files (merged over the defaults)")
    check.add_argument("files", nargs="+", metavar="FILE", help="a merchant policy YAML file")

    explain = commands.add_parser("explain", help="show which rules fire for a case and why")
    explain.add_argument(
        "--case", required=True, metavar="CASE.json", help="the case as JSON (see docs/policy.md)"
    )
    explain.add_argument("--policy", metavar="FILE", help="merchant policy file merged over the defaults")
    explain.add_argument(
        "--today", metavar="YYYY-MM-DD", help="decide as of this date (default: the case's, else now)"
    )
    explain.add_argument("--json", action="store_true", help="print the decision dict as JSON")

    summary = commands.add_parser("summary", help="the policy in plain language, as the bot tells it")
    summary.add_argument("--policy", metavar="FILE", help="merchant policy file merged over the defaults")
    summary.add_argument("--json", action="store_true", help="print the public policy dict as JSON")
    return parser


def run_check(files: Sequence[str]) -> int:
    failed = False
    for name in files:
        issues = check_policy_file(name)
        if issues:
            failed = True
            for issue in issues:
                print(f"{name}: {issue}")
        else:
            print(f"OK {name} (policy version {load_policy(name).version})")
    return 1 if failed else 0


def _today(value: str | None, policy: Policy, case_data: dict[str, Any]) -> dt.datetime:
    if value is not None:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise PolicyError("--today: must be a date YYYY-MM-DD") from None
        return dt.datetime.combine(day, dt.time(12), tzinfo=policy.tz)
    if "today" in case_data:
        from policy.facts import parse_moment

        return parse_moment(case_data["today"], "today", policy.tz)
    return dt.datetime.now(policy.tz)


def _item_lines(item: ItemDecision, currency: str) -> list[str]:
    lines = [f"Item {item.item_id}: {item.name}  (paid {format_money(item.paid, currency)})"]
    for rule in item.rules:
        lines.append(f"  [{rule.effect:<11}] {rule.code:<28} {rule.merchant_detail}")
        lines.append(f"  {'':13} {'':28} shopper: {rule.shopper_message}")
    keep = "keep the item" if item.keep_item else "send it back" if item.outcome != "reject" else "-"
    lines.append(f"  => {item.outcome.upper()}; {keep}; refund {format_money(item.refund_amount, currency)}")
    return lines


def render(decision: Decision, case: ReturnCase, policy: Policy) -> str:
    today = case.today.astimezone(policy.tz)
    lines = [
        f"Policy {policy.version} ({policy.name}); today {today.date().isoformat()} ({policy.timezone})",
        f"Order {case.order.order_number or '-'}: {case.order.status}",
        "",
    ]
    for item in decision.items:
        lines += [*_item_lines(item, policy.currency), ""]
    for rule in decision.rules:
        if rule.item_id is None:
            lines.append(f"[{rule.effect:<11}] {rule.code:<30} {rule.merchant_detail}")
    money = policy.currency
    fees = ", ".join(f"{f.label} {format_money(f.amount, money)}" for f in decision.fees) or "none"
    bonus = decision.to_dict()["store_credit_bonus_pct"]
    lines += [
        f"OUTCOME: {decision.outcome.upper()}",
        f"Resolutions: {', '.join(decision.resolutions) or 'none'}"
        + (f" (store credit bonus {bonus}%)" if decision.store_credit_bonus_pct else ""),
        f"Refund: {format_money(decision.refund_amount, money)}; fees: {fees}",
        f"Keep item: {'yes' if decision.keep_item else 'no'}",
    ]
    if decision.ask_for.reason:
        lines.append(f"Ask for: {decision.ask_for.photos} photo(s) ({decision.ask_for.reason})")
    lines.append(f"Shopper: {decision.shopper_summary}")
    return "\n".join(lines)


def run_explain(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    case_data = json.loads(Path(args.case).read_text(encoding="utf-8"))
    if not isinstance(case_data, dict):
        raise PolicyError("case: must be a JSON object")
    case = ReturnCase.from_dict(case_data, _today(args.today, policy, case_data), tz=policy.tz)
    decision = decide(case, policy)
    if args.json:
        print(json.dumps(decision.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(render(decision, case, policy))
    return 0


def run_summary(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    if args.json:
        print(json.dumps(policy.public_dict(), indent=2, ensure_ascii=False))
    else:
        print(f"{policy.name} (version {policy.version})")
        for line in policy.summary():
            print(f"- {line}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check":
            return run_check(args.files)
        if args.command == "explain":
            return run_explain(args)
        return run_summary(args)
    except PolicyError as exc:
        for issue in exc.issues:
            print(f"error: {issue}", file=sys.stderr)
        return 1
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
