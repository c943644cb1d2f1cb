from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.carrier import get_carrier
from api.deps import SessionDep
from api.services.returns import today

router = APIRouter(prefix="/api/v1/pickups", tags=["pickups"])


@router.get("/slots", summary="Pickup slots for the next business days at a postcode")
def slots(
    session: SessionDep,
    postcode: Annotated[str, Query(min_length=3, max_length=16)],
    days: Annotated[int, Query(ge=1, le=10)] = 5,
) -> list[dict[str, Any]]:
    carrier = get_carrier()
    return [
        s.to_dict() | {"carrier": carrier.name}
        for s in carrier.slots(session, postcode=postcode, today=today(), days=days)
    ]
