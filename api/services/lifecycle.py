"""After the chat: courier events, the warehouse receipt, and the refund / exchange / store credit.

Everything here runs in the caller's transaction: the status change, its audit line, the ledger
entry, the shopper's email (outbox) and the chat notice (chat_notices) commit together or not at
all. Delivery happens later, in the outbox worker (api/services/mailer.py), never in the request.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from api.models import ChatNotice, Merchant, ProductVariant, ReturnRequest, ReturnStatus
from api.services import audit, notify
from api.services import returns as returns_service
from api.services.payments import PaymentError, format_money, get_provider, to_minor
from api.settings import get_settings

log = logging.getLogger("api.lifecycle")

# The forward order of the lifecycle after the pickup; a courier event for a step the return has
# already passed is stale and changes nothing.
_STAGE = {
    ReturnStatus.pickup_scheduled: 1,
    ReturnStatus.picked_up: 2,
    ReturnStatus.received: 3,
    ReturnStatus.refunded: 4,
    ReturnStatus.exchanged: 4,
    ReturnStatus.credited: 4,
}
SETTLED = {ReturnStatus.refunded, ReturnStatus.exchanged, ReturnStatus.credited}
CONDITIONS = ("as_expected", "used", "damaged", "wrong_item", "missing_parts")
CARRIER_EMAILS = {
    "dispatched": "courier_dispatched",
    "picked_up": "picked_up",
    "delivered_to_warehouse": "received_at_warehouse",
}
CHAT_INTENT = "EXTERNAL_return_update"


class LifecycleError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def already_past(ret: ReturnRequest, target: ReturnStatus) -> bool:
    current = ReturnStatus(ret.status)
    return current in _STAGE and target in _STAGE and _STAGE[current] > _STAGE[target]


def _merchant(session: Session, ret: ReturnRequest) -> Merchant:
    merchant = session.get(Merchant, ret.merchant_id)
    assert merchant is not None
    return merchant


def email_context(ret: ReturnRequest, **extra: Any) -> dict[str, Any]:
    ctx = returns_service._email_context(ret, ret.order)
    ctx.update(
        {
            "amount": "",
            "payment_reference": "",
            "store_credit_code": "",
            "exchange_items": [],
            "shipment_reference": "",
            **extra,
        }
    )
    return ctx


def _email(session: Session, ret: ReturnRequest, event: str, dedupe: str, **extra: Any) -> None:
    notify.enqueue(
        session,
        merchant=_merchant(session, ret),
        event=event,
        to=ret.order.email,
        dedupe_key=f"{ret.rma}:{dedupe}",
        context=email_context(ret, **extra),
    )


# --- proactive chat -----------------------------------------------------------------------------


def chat_allowed(ret_channel: str | None, conversation_id: str | None) -> bool:
    return bool(conversation_id) and (ret_channel or "") in get_settings().chat_notice_channels


def queue_chat_notice(
    session: Session,
    *,
    merchant_id: int | None,
    rma: str,
    conversation_id: str | None,
    channel: str | None,
    event: str,
    message: str,
    dedupe_key: str,
    intent: str = CHAT_INTENT,
    entities: dict[str, Any] | None = None,
) -> ChatNotice | None:
    """Queue a message for the shopper's chat; nothing when the channel cannot push one."""
    if not chat_allowed(channel, conversation_id):
        return None
    from sqlalchemy import select

    if session.scalar(select(ChatNotice.id).where(ChatNotice.dedupe_key == dedupe_key)):
        return None
    notice = ChatNotice(
        merchant_id=merchant_id,
        dedupe_key=dedupe_key[:128],
        rma=rma,
        conversation_id=str(conversation_id),
        channel=str(channel),
        intent=intent,
        entities={"rma": rma, "return_event": event, "return_message": message, **(entities or {})},
    )
    session.add(notice)
    return notice


def _chat(session: Session, ret: ReturnRequest, event: str, message: str) -> None:
    queue_chat_notice(
        session,
        merchant_id=ret.merchant_id,
        rma=ret.rma,
        conversation_id=ret.conversation_id,
        channel=ret.channel,
        event=event,
        message=message,
        dedupe_key=f"{ret.rma}:chat:{event}",
    )


# --- courier events -----------------------------------------------------------------------------


def on_carrier_event(session: Session, ret: ReturnRequest, kind: str) -> None:
    """After a (new, applied) courier event: the shopper's email, and a chat notice on arrival."""
    status = ReturnStatus(ret.status)
    if status == ReturnStatus.cancelled or status == ReturnStatus.rejected:
        return
    event = CARRIER_EMAILS.get(kind)
    if event is None:
        return
    if kind == "dispatched" and status != ReturnStatus.pickup_scheduled:
        return  # the courier is "on the way" only before the pickup
    # The same dedupe key as the warehouse's own receipt: one "received" email whoever is first.
    _email(session, ret, event, "received" if event == "received_at_warehouse" else f"carrier:{kind}")
    if event == "received_at_warehouse":
        what = ret.resolution.replace("_", " ")
        _chat(
            session,
            ret,
            "received",
            f"Your return {ret.rma} arrived at our warehouse. We are "
            f"checking it and will send your {what} next.",
        )


# --- the warehouse receipt ----------------------------------------------------------------------


def receive(
    session: Session,
    ret: ReturnRequest,
    *,
    actor: str,
    condition: str = "as_expected",
    item_conditions: dict[int, str] | None = None,
    note: str = "",
    refund_amount: Decimal | None = None,
    resolution: str | None = None,
) -> dict[str, Any]:
    """The merchant marks the parcel received with the condition found; the refund, exchange or
    store credit follows at once. Repeating it on a settled return changes nothing."""
    status = ReturnStatus(ret.status)
    if status in SETTLED:
        return {**returns_service.serialize(ret), "changed": False}
    item_conditions = dict(item_conditions or {})
    for value in [condition, *item_conditions.values()]:
        if value not in CONDITIONS:
            raise LifecycleError(422, f"Unknown condition {value!r}; one of: {', '.join(CONDITIONS)}.")
    known = {i.order_item_id for i in ret.items}
    unknown = set(item_conditions) - known
    if unknown:
        raise LifecycleError(422, f"Item(s) {sorted(unknown)} are not part of return {ret.rma}.")
    keep_item = status == ReturnStatus.approved and ret.keep_item
    if not keep_item and status not in (
        ReturnStatus.pickup_scheduled,
        ReturnStatus.picked_up,
        ReturnStatus.received,
    ):
        raise LifecycleError(
            409,
            f"Return {ret.rma} is {ret.status.replace('_', ' ')}; only a "
            "return on its way back (or kept by the shopper) can be received.",
        )
    if not keep_item:
        if status == ReturnStatus.pickup_scheduled:  # the courier never scanned it
            returns_service.transition(
                session, ret, ReturnStatus.picked_up, actor=actor, data={"via": "warehouse"}
            )
            if ret.pickup is not None:
                ret.pickup.status = "picked_up"
        if ReturnStatus(ret.status) != ReturnStatus.received:
            returns_service.transition(
                session, ret, ReturnStatus.received, actor=actor, data={"via": "warehouse"}
            )
        for item in ret.items:
            item.condition_received = item_conditions.get(item.order_item_id, condition)
        audit.record(
            session,
            merchant_id=ret.merchant_id,
            entity_type="return",
            entity_id=ret.rma,
            action="warehouse:received",
            actor=actor,
            data={
                "conditions": {str(i.order_item_id): i.condition_received for i in ret.items},
                "note": note,
            },
        )
        _email(session, ret, "received_at_warehouse", "received")
    settle(session, ret, actor=actor, note=note, refund_amount=refund_amount, resolution=resolution)
    session.flush()
    return {**returns_service.serialize(ret), "changed": True}


def settle(
    session: Session,
    ret: ReturnRequest,
    *,
    actor: str,
    note: str = "",
    refund_amount: Decimal | None = None,
    resolution: str | None = None,
) -> None:
    """Refund, exchange or store credit through the payment interface; status, audit, email."""
    resolution = resolution or ret.resolution
    currency = ret.order.currency
    amount = ret.refund_amount if refund_amount is None else Decimal(refund_amount)
    if amount < 0 or amount > ret.refund_amount:
        raise LifecycleError(422, f"The amount must be between 0 and {ret.refund_amount:.2f}.")
    provider = get_provider()
    common = {"merchant_id": ret.merchant_id, "return_id": ret.id}
    metadata = {"rma": ret.rma, "order_number": ret.order.number, "actor": actor}
    try:
        if resolution == "refund":
            result = provider.refund(
                session,
                idempotency_key=f"{ret.rma}:refund",
                amount_minor=to_minor(amount, currency),
                currency=currency,
                reason="requested_by_customer",
                payment_reference=f"order:{ret.order.number}",
                metadata=metadata,
                **common,
            )
            target, event = ReturnStatus.refunded, "refund_issued"
            extra: dict[str, Any] = {"payment_reference": result.reference}
        elif resolution == "store_credit":
            result = provider.issue_store_credit(
                session,
                idempotency_key=f"{ret.rma}:store_credit",
                amount_minor=to_minor(amount, currency),
                currency=currency,
                reason="return",
                metadata=metadata,
                **common,
            )
            ret.store_credit_code = result.reference
            target, event = ReturnStatus.credited, "store_credit_issued"
            extra = {"store_credit_code": result.reference}
        elif resolution == "exchange":
            items = _reserve_exchange(session, ret)
            result = provider.record_exchange(
                session,
                idempotency_key=f"{ret.rma}:exchange",
                currency=currency,
                metadata={**metadata, "items": items},
                **common,
            )
            target, event = ReturnStatus.exchanged, "exchange_shipped"
            extra = {"exchange_items": items, "shipment_reference": result.reference}
        else:
            raise LifecycleError(422, f"Unknown resolution {resolution!r}.")
    except PaymentError as exc:
        raise LifecycleError(exc.status_code, exc.message) from None
    if resolution != ret.resolution:
        ret.resolution = resolution
    returns_service.transition(
        session,
        ret,
        target,
        actor=actor,
        data={
            "resolution": resolution,
            "provider": result.provider,
            "reference": result.reference,
            "amount_minor": result.amount_minor,
            "currency": result.currency,
        },
    )
    audit.record(
        session,
        merchant_id=ret.merchant_id,
        entity_type="return",
        entity_id=ret.rma,
        action=f"payment:{result.kind}",
        actor=actor,
        data={
            "provider": result.provider,
            "reference": result.reference,
            "amount_minor": result.amount_minor,
            "currency": result.currency,
            "idempotency_key": f"{ret.rma}:{resolution}",
            "replayed": result.replayed,
        },
    )
    amount_text = format_money(result.amount_minor, result.currency)
    _email(session, ret, event, event, amount=amount_text, note=note, **extra)
    messages = {
        "refund_issued": f"Your refund of {amount_text} for return {ret.rma} is issued.",
        "store_credit_issued": f"Your store credit of {amount_text} for return {ret.rma} is ready: "
        f"code {extra.get('store_credit_code', '')}.",
        "exchange_shipped": f"Your exchange for return {ret.rma} is on its way.",
    }
    _chat(session, ret, event, messages[event])


def _reserve_exchange(session: Session, ret: ReturnRequest) -> list[str]:
    names: list[str] = []
    for item in ret.items:
        variant = session.get(ProductVariant, item.exchange_variant_id) if item.exchange_variant_id else None
        if variant is None:
            names.append(f"{item.quantity} x {item.order_item.name}")
            continue
        if variant.stock < item.quantity:
            raise LifecycleError(
                409,
                f"{item.order_item.name} {variant.name} is out of stock; "
                "choose a refund or store credit instead.",
            )
        variant.stock -= item.quantity
        names.append(f"{item.quantity} x {item.order_item.name} ({variant.name})")
    return names
