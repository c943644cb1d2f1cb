from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import SessionDep
from api.services.decisions import active_policy
from api.services.orders import default_merchant

router = APIRouter(prefix="/api/v1", tags=["policy"])


@router.get("/policy", summary="The active return policy, as data and in plain words")
def get_policy(session: SessionDep) -> dict[str, Any]:
    policy = active_policy(session, default_merchant(session).id)
    return {
        "version": policy.version,
        "reasons": policy.reason_catalogue(),
        "windows": {k: int(v) for k, v in policy.windows.items()},
        "summary": policy.summary(),
    }
