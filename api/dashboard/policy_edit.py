"""The merchant's return policy: what is active, and saving an edited override after checking it.

The merchant writes an override (only what differs from the default policy) in YAML; it is
checked exactly as the policy package checks a file (`policy.check_policy_file`), and saved to
`Merchant.policy_yaml` only when it is valid. A refused file changes nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import AuditLog, Merchant, MerchantUser
from api.services import audit
from api.services.decisions import active_policy
from policy import DEFAULT_POLICY_PATH, Policy, PolicyIssue, check_policy_file, load_policy

MAX_YAML = 64 * 1024


@dataclass
class PolicyView:
    policy: Policy
    override: str
    default_yaml: str
    history: list[AuditLog]
    source: str  # "merchant" | "settings file" | "default"


def policy_view(db: Session, merchant: Merchant) -> PolicyView:
    from api.settings import get_settings

    source = (
        "merchant" if merchant.policy_yaml else ("settings file" if get_settings().policy_file else "default")
    )
    history = list(
        db.scalars(
            select(AuditLog)
            .where(AuditLog.merchant_id == merchant.id, AuditLog.entity_type == "policy")
            .order_by(AuditLog.id.desc())
            .limit(20)
        )
    )
    return PolicyView(
        policy=active_policy(db, merchant.id),
        override=merchant.policy_yaml or "",
        default_yaml=DEFAULT_POLICY_PATH.read_text(encoding="utf-8"),
        history=history,
        source=source,
    )


class PolicyRefused(Exception):
    def __init__(self, issues: list[PolicyIssue]) -> None:
        super().__init__("; ".join(str(i) for i in issues))
        self.issues = issues


def check_override(text: str) -> tuple[Policy, dict[str, Any]]:
    """The policy this override gives, or PolicyRefused with the checker's messages."""
    if len(text.encode()) > MAX_YAML:
        raise PolicyRefused([PolicyIssue("(file)", f"is larger than {MAX_YAML // 1024} KB")])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yml"
        path.write_text(text, encoding="utf-8")
        issues = check_policy_file(path)
    if issues:
        raise PolicyRefused(issues)
    data = yaml.safe_load(text) or {}
    return load_policy(overrides=data), data


def save_override(db: Session, merchant: Merchant, user: MerchantUser, text: str) -> Policy:
    """Validate and save; an empty text goes back to the default policy."""
    text = text.replace("\r\n", "\n").strip()
    previous = active_policy(db, merchant.id)
    previous_yaml = merchant.policy_yaml or ""
    if text:
        policy, _ = check_override(text)
        merchant.policy_yaml = text + "\n"
    else:
        merchant.policy_yaml = None
        policy = active_policy(db, merchant.id)
    audit.record(
        db,
        merchant_id=merchant.id,
        entity_type="policy",
        entity_id=merchant.slug,
        action="policy_updated" if text else "policy_reset",
        actor=f"user:{user.id}",
        data={
            "version": policy.version,
            "previous_version": previous.version,
            "yaml": merchant.policy_yaml or "",
            "previous_yaml": previous_yaml,
        },
    )
    return policy
