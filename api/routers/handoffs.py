from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ServiceDep, SessionDep
from api.models import HandoffTicket
from api.schemas import HandoffIn
from api.services import audit
from api.services.orders import default_merchant, normalise_order_number

router = APIRouter(prefix="/api/v1/handoffs", tags=["handoffs"])


@router.post("", status_code=201, summary="Open a ticket for a person to take over the chat")
def create_handoff(body: HandoffIn, session: SessionDep, _: ServiceDep) -> dict[str, Any]:
    merchant = default_merchant(session)
    ticket = HandoffTicket(
        merchant_id=merchant.id,
        conversation_id=body.conversation_id,
        channel=body.channel,
        order_number=normalise_order_number(body.order_number) if body.order_number else None,
        message=body.message,
    )
    session.add(ticket)
    session.flush()
    audit.record(
        session,
        merchant_id=merchant.id,
        entity_type="handoff",
        entity_id=ticket.id,
        action="opened",
        actor=f"shopper:{body.conversation_id}",
    )
    return {"ticket_id": ticket.id, "status": ticket.status}
