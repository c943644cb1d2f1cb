"""Tracking events from the courier, through a signed webhook.

Body: {"event_id": "...", "reference": "LC...", "event": "dispatched" | "picked_up" |
"delivered_to_warehouse", "at": "<ISO time>"}; header `X-Courier-Signature: sha256=<hex HMAC
of the raw body with CARRIER_WEBHOOK_SECRET>`. A repeated event_id changes nothing.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.db import session_scope
from api.models import AuditLog, Pickup, ReturnStatus
from api.security import constant_time_equals, hmac_hex
from api.services import audit, lifecycle
from api.services.returns import ReturnError, transition
from api.settings import get_settings

router = APIRouter(prefix="/api/v1/carrier", tags=["carrier"])

STATUS_FOR_EVENT = {
    "dispatched": None,  # courier on the way: recorded, no status change
    "picked_up": ReturnStatus.picked_up,
    "delivered_to_warehouse": ReturnStatus.received,
}


@router.post("/webhook", summary="Courier tracking events (HMAC-signed)")
async def webhook(
    request: Request,
    signature: Annotated[str | None, Header(alias="X-Courier-Signature")] = None,
) -> dict[str, Any]:
    secret = get_settings().carrier_webhook_secret.get_secret_value()
    raw = await request.body()
    expected = "sha256=" + hmac_hex(secret, raw) if secret else None
    if not signature or not expected or not constant_time_equals(signature, expected):
        raise HTTPException(403, "Invalid signature.")
    try:
        event = json.loads(raw)
        event_id, reference, kind = str(event["event_id"]), str(event["reference"]), str(event["event"])
    except (ValueError, KeyError, TypeError):
        raise HTTPException(422, "Expected JSON with event_id, reference and event.") from None
    if kind not in STATUS_FOR_EVENT:
        raise HTTPException(422, f"Unknown event {kind!r}.")
    # The database work runs in a worker thread, never on the event loop.
    return await run_in_threadpool(_apply_event, event_id, reference, kind, event.get("at"))


def _apply_event(event_id: str, reference: str, kind: str, at: object) -> dict[str, Any]:
    with session_scope() as session:
        return _record_event(session, event_id, reference, kind, at)


def _record_event(session: Session, event_id: str, reference: str, kind: str, at: object) -> dict[str, Any]:
    if session.scalar(
        select(AuditLog.id).where(AuditLog.entity_type == "carrier_event", AuditLog.entity_id == event_id)
    ):
        return {"status": "duplicate", "event_id": event_id}
    pickup = session.scalar(select(Pickup).where(Pickup.reference == reference))
    if pickup is None:
        raise HTTPException(404, "Unknown pickup reference.")
    ret = pickup.return_request
    audit.record(
        session,
        merchant_id=ret.merchant_id,
        entity_type="carrier_event",
        entity_id=event_id,
        action=kind,
        actor="carrier",
        data={"reference": reference, "rma": ret.rma, "at": at},
    )
    target = STATUS_FOR_EVENT[kind]
    if kind == "picked_up":
        pickup.status = "picked_up"
    if target is not None and (ret.status == target.value or lifecycle.already_past(ret, target)):
        # A late or repeated scan (another event_id) for a step already taken: recorded, no change.
        return {"status": "stale", "rma": ret.rma, "return_status": ret.status}
    if target is not None:
        try:
            transition(session, ret, target, actor="carrier", data={"reference": reference})
        except ReturnError as exc:
            raise HTTPException(409, exc.detail) from None
    # The shopper's email (and chat notice), in this same transaction.
    lifecycle.on_carrier_event(session, ret, kind)
    return {"status": "ok", "rma": ret.rma, "return_status": ret.status}
