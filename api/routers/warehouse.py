"""The warehouse receipt: the merchant marks a return received with the condition found, and the
refund / exchange / store credit follows (api/services/lifecycle.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import CurrentUser, SessionDep
from api.services import lifecycle
from api.services.review import ReviewError, owned_return

router = APIRouter(prefix="/api/v1/returns", tags=["warehouse"])


class Receipt(BaseModel):
    condition: str = Field("as_expected", description="one of " + ", ".join(lifecycle.CONDITIONS))
    items: dict[int, str] = Field(
        default_factory=dict, description="condition per order_item_id, where items differ"
    )
    note: str = Field("", max_length=2000)
    refund_amount: Decimal | None = Field(
        None, ge=0, description="less than the quoted amount, e.g. for an item that came back used"
    )
    resolution: Literal["refund", "exchange", "store_credit"] | None = None


@router.post(
    "/{rma}/receive",
    summary="Warehouse receipt: condition found, then refund / exchange / store credit (merchant token)",
)
def receive(rma: str, body: Receipt, session: SessionDep, user: CurrentUser) -> Any:
    try:
        ret = owned_return(session, user.merchant_id, rma)
        return lifecycle.receive(
            session,
            ret,
            actor=f"user:{user.id}",
            condition=body.condition,
            item_conditions=body.items,
            note=body.note.strip(),
            refund_amount=body.refund_amount,
            resolution=body.resolution,
        )
    except ReviewError as exc:
        session.rollback()
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)
    except lifecycle.LifecycleError as exc:
        session.rollback()
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
