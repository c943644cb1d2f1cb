"""The return rules: pure, deterministic decisions over typed facts, with the policy as data.

    from policy import load_policy, decide, ReturnCase, ItemFacts, OrderFacts, CustomerHistory, DamageEvidence

    policy = load_policy()           # default_policy.yml; load_policy(path) merges a merchant file on top
    decision = decide(case, policy)  # a Decision; decision.to_dict() is the API's decision dict

See docs/policy.md for every setting and docs/interfaces.md for the contract.
"""

from policy.config import (
    DEFAULT_POLICY_PATH,
    REASON_CODES,
    RESOLUTIONS,
    Policy,
    PolicyError,
    PolicyIssue,
    check_policy_file,
    deep_merge,
    load_policy,
    validate_policy,
)
from policy.decision import AskFor, Decision, Fee, ItemDecision, RuleHit
from policy.engine import decide
from policy.facts import CustomerHistory, DamageEvidence, ItemFacts, OrderFacts, ReturnCase

__all__ = [
    "DEFAULT_POLICY_PATH",
    "REASON_CODES",
    "RESOLUTIONS",
    "AskFor",
    "CustomerHistory",
    "DamageEvidence",
    "Decision",
    "Fee",
    "ItemDecision",
    "ItemFacts",
    "OrderFacts",
    "Policy",
    "PolicyError",
    "PolicyIssue",
    "ReturnCase",
    "RuleHit",
    "check_policy_file",
    "decide",
    "deep_merge",
    "load_policy",
    "validate_policy",
]
