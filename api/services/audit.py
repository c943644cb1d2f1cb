from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.models import AuditLog


def record(
    session: Session,
    *,
    merchant_id: int | None,
    entity_type: str,
    entity_id: str | int,
    action: str,
    actor: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one line to the audit log, in the caller's transaction."""
    session.add(
        AuditLog(
            merchant_id=merchant_id,
            entity_type=entity_type,
            entity_id=str(entity_id),
            action=action,
            actor=actor,
            data=data or {},
        )
    )
