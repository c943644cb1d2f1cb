from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.deps import SessionDep, client_key
from api.models import Order
from api.schemas import OrderLookup
from api.services.orders import (
    OrderSourceUnavailable,
    note_failure,
    resolve_order,
    retry_after_seconds,
    returned_quantities,
)
from api.services.returns import NOT_FOUND

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])


def serialize_order(session: Session, order: Order) -> dict[str, Any]:
    already = returned_quantities(session, order)
    return {
        "order_number": order.number,
        "status": order.status,
        "currency": order.currency,
        "ordered_at": order.ordered_at.isoformat(),
        "shipped_at": order.shipped_at.isoformat() if order.shipped_at else None,
        "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
        "shipping_address": {
            "name": order.shipping_name,
            "line1": order.address_line1,
            "city": order.city,
            "postcode": order.postcode,
            "country": order.country,
        },
        "items": [
            {
                "id": item.id,
                "sku": item.sku,
                "name": item.name,
                "category": item.product.category,
                "price": f"{item.unit_price:.2f}",
                "quantity": item.quantity,
                "returnable_quantity": max(item.quantity - already.get(item.id, 0), 0),
                "final_sale": item.product.final_sale,
                "fragile": item.product.fragile,
                "variant": item.variant.name if item.variant else None,
                "variants": [
                    {"id": v.id, "name": v.name, "in_stock": v.stock > 0} for v in item.product.variants
                ],
            }
            for item in order.items
        ],
    }


@router.post(
    "/lookup",
    summary="Find an order behind its ownership proof (email or postcode)",
    responses={
        404: {"description": "Wrong number or wrong proof (same answer)"},
        429: {"description": "Too many failed attempts"},
        503: {"description": "The shop's order system (ORDER_SOURCE) did not answer"},
    },
)
def lookup_order(body: OrderLookup, request: Request, session: SessionDep) -> Any:
    key = client_key(request)
    wait = retry_after_seconds(session, key)
    if wait is not None:
        raise HTTPException(
            429,
            "Too many attempts. Please wait a few minutes and try again.",
            headers={"Retry-After": str(wait)},
        )
    try:
        order = resolve_order(
            session, order_number=body.order_number, email=body.email, postcode=body.postcode
        )
    except OrderSourceUnavailable as exc:
        session.rollback()  # not the shopper's failure: no throttle entry, nothing imported
        return JSONResponse(
            {"detail": exc.detail, "reason": exc.reason},
            status_code=503,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if order is None:
        note_failure(session, key)
        session.commit()  # raising rolls the request's session back; the failure must count
        raise HTTPException(404, NOT_FOUND)
    return serialize_order(session, order)
