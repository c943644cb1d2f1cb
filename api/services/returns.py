"""Return requests: quote a decision, create (idempotently), look up, cancel, reschedule."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.carrier import SlotUnavailable, get_carrier
from api.carrier.base import WINDOWS
from api.models import (
    CANCELLABLE,
    Decision,
    IdempotencyRecord,
    Merchant,
    Order,
    OrderItem,
    Photo,
    Pickup,
    ReturnItem,
    ReturnRequest,
    ReturnStatus,
)
from api.schemas import DraftItem, Proof, ReturnCreate, ReturnDraft, ReturnLookup
from api.security import random_token
from api.services import audit, notify
from api.services.decisions import evaluate
from api.services.orders import (
    OrderSourceUnavailable,
    find_order,
    normalise_order_number,
    resolve_order,
    returned_quantities,
)
from api.settings import get_settings

NOT_FOUND = "We could not find an order with those details."
RETURN_NOT_FOUND = "We could not find a return with those details."
REVIEW_HOURS = 48


class ReturnError(Exception):
    def __init__(self, status_code: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.extra = extra


@dataclass
class Line:
    order_item: OrderItem
    draft: DraftItem
    photos: list[Photo] = field(default_factory=list)


def today() -> date:
    return datetime.now(UTC).date()


def _order_for(session: Session, draft: ReturnDraft, *, refresh: bool = True) -> Order:
    """The order behind the draft's proof; from Shopify when ORDER_SOURCE=shopify (refreshed
    unless `refresh=False` finds a local copy: the quote)."""
    order = _resolve(
        session, order_number=draft.order_number, email=draft.email, postcode=draft.postcode, refresh=refresh
    )
    if order is None:
        raise ReturnError(404, NOT_FOUND)
    return order


def _resolve(session: Session, **kwargs: Any) -> Order | None:
    try:
        return resolve_order(session, **kwargs)
    except OrderSourceUnavailable as exc:
        raise ReturnError(503, exc.detail, reason=exc.reason) from exc


def _lines(session: Session, order: Order, draft: ReturnDraft) -> list[Line]:
    by_id = {item.id: item for item in order.items}
    already = returned_quantities(session, order)
    lines: list[Line] = []
    seen: set[int] = set()
    for item in draft.items:
        order_item = by_id.get(item.order_item_id)
        if order_item is None:
            raise ReturnError(422, f"Item {item.order_item_id} is not part of order {order.number}.")
        if item.order_item_id in seen:
            raise ReturnError(422, f"Item {order_item.name} is listed twice.")
        seen.add(item.order_item_id)
        left = order_item.quantity - already.get(order_item.id, 0)
        if item.quantity > max(left, 0) and left > 0:
            raise ReturnError(422, f"Only {left} of {order_item.name} can still be returned.")
        photos = []
        for photo_id in item.photo_ids:
            photo = session.get(Photo, photo_id, options=[selectinload(Photo.assessments)])
            if photo is None:
                raise ReturnError(422, f"Photo {photo_id} does not exist; please upload it again.")
            if photo.return_item_id is not None:
                raise ReturnError(409, f"Photo {photo_id} already belongs to another return.")
            photos.append(photo)
        lines.append(Line(order_item=order_item, draft=item, photos=photos))
    return lines


def quote(session: Session, draft: ReturnDraft) -> dict[str, Any]:
    """The decision the policy would take now; nothing is written (except, with ORDER_SOURCE=shopify,
    the import of an order no lookup brought in yet)."""
    order = _order_for(session, draft, refresh=False)
    lines = _lines(session, order, draft)
    return evaluate(session, order=order, lines=lines, today=today(), resolution=draft.resolution)


def _request_hash(payload: ReturnCreate) -> str:
    return hashlib.sha256(json.dumps(payload.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def create(
    session: Session, payload: ReturnCreate, *, idempotency_key: str, actor: str
) -> tuple[int, dict[str, Any]]:
    """Create the return; a retried request with the same key gets the first answer back."""
    request_hash = _request_hash(payload)
    previous = session.get(IdempotencyRecord, idempotency_key)
    if previous is not None:
        if previous.request_hash != request_hash:
            raise ReturnError(409, "This Idempotency-Key was already used for a different request.")
        return previous.status_code, previous.response

    body = _create(session, payload, actor=actor)
    session.add(
        IdempotencyRecord(key=idempotency_key, request_hash=request_hash, status_code=201, response=body)
    )
    try:
        session.flush()
    except IntegrityError:
        # A concurrent retry won the race: answer what it stored.
        session.rollback()
        winner = session.get(IdempotencyRecord, idempotency_key)
        if winner is None or winner.request_hash != request_hash:
            raise ReturnError(409, "This Idempotency-Key was already used for a different request.") from None
        return winner.status_code, winner.response
    return 201, body


def _new_rma(session: Session) -> str:
    while True:
        rma = "RMA-" + secrets.token_hex(4).upper()
        if session.scalar(select(ReturnRequest.id).where(ReturnRequest.rma == rma)) is None:
            return rma


def _create(session: Session, payload: ReturnCreate, *, actor: str) -> dict[str, Any]:
    order = _order_for(session, payload)
    lines = _lines(session, order, payload)
    decision = evaluate(session, order=order, lines=lines, today=today(), resolution=payload.resolution)
    outcome = decision["outcome"]
    if outcome in ("reject", "need_photos"):
        raise ReturnError(
            422, decision.get("shopper_summary") or "This return cannot be accepted.", decision=decision
        )
    resolution = payload.resolution or (decision["resolutions"] or ["refund"])[0]
    if resolution not in decision["resolutions"]:
        raise ReturnError(
            422, f"{resolution.replace('_', ' ')} is not available for this return.", decision=decision
        )
    needs_pickup = not decision["keep_item"]
    if needs_pickup and payload.pickup is None:
        raise ReturnError(422, "Choose a pickup date and window.", decision=decision)
    if needs_pickup and not payload.address_confirmed:
        raise ReturnError(422, "Confirm the pickup address first.", decision=decision)

    merchant = session.get(Merchant, order.merchant_id)
    assert merchant is not None
    status = ReturnStatus.approved if outcome == "approve" else ReturnStatus.under_review
    ret = ReturnRequest(
        merchant_id=order.merchant_id,
        order_id=order.id,
        rma=_new_rma(session),
        status=status.value,
        resolution=resolution,
        refund_amount=Decimal(str(decision["refund_amount"])),
        keep_item=decision["keep_item"],
        channel=payload.channel,
        conversation_id=payload.conversation_id,
        label_token=random_token(18),
    )
    session.add(ret)
    session.flush()
    for line in lines:
        item = ReturnItem(
            return_id=ret.id,
            order_item_id=line.order_item.id,
            quantity=line.draft.quantity,
            reason_code=line.draft.reason_code,
            reason_text=line.draft.reason_text,
            resolution=resolution,
            exchange_variant_id=line.draft.exchange_variant_id,
        )
        session.add(item)
        session.flush()
        for photo in line.photos:
            photo.return_item_id = item.id
            photo.merchant_id = order.merchant_id
    session.add(
        Decision(
            return_id=ret.id,
            outcome=outcome,
            policy_version=decision["policy_version"],
            rules=decision["rules"],
            resolutions=decision["resolutions"],
            refund_amount=ret.refund_amount,
            keep_item=ret.keep_item,
        )
    )
    audit.record(
        session,
        merchant_id=order.merchant_id,
        entity_type="return",
        entity_id=ret.rma,
        action="created",
        actor=actor,
        data={"status": ret.status, "outcome": outcome, "channel": payload.channel},
    )
    if needs_pickup and payload.pickup is not None:
        _book_pickup(
            session,
            ret,
            order,
            payload.pickup.date,
            payload.pickup.window,
            on_hold=status == ReturnStatus.under_review,
            actor=actor,
        )
    session.flush()
    session.refresh(ret)
    _announce_created(session, merchant, ret, order, decision)
    return serialize(ret)


def _book_pickup(
    session: Session, ret: ReturnRequest, order: Order, day: date, window: str, *, on_hold: bool, actor: str
) -> Pickup:
    try:
        booking = get_carrier().book(session, postcode=order.postcode, day=day, window=window, today=today())
    except SlotUnavailable as exc:
        raise ReturnError(409, str(exc)) from None
    pickup = Pickup(
        return_id=ret.id,
        carrier=booking.carrier,
        date=booking.date,
        window=booking.window,
        reference=booking.reference,
        status="on_hold" if on_hold else "scheduled",
        name=order.shipping_name,
        address_line1=order.address_line1,
        city=order.city,
        postcode=order.postcode,
        country=order.country,
    )
    session.add(pickup)
    if not on_hold:
        _move(
            session,
            ret,
            ReturnStatus.pickup_scheduled,
            actor=actor,
            data={"reference": booking.reference, "date": booking.date.isoformat(), "window": booking.window},
        )
    return pickup


def _move(
    session: Session, ret: ReturnRequest, to: ReturnStatus, *, actor: str, data: dict[str, Any] | None = None
) -> None:
    from api.models import TRANSITIONS

    current = ReturnStatus(ret.status)
    if to not in TRANSITIONS[current]:
        raise ReturnError(
            409,
            f"A return that is {current.value.replace('_', ' ')} cannot become {to.value.replace('_', ' ')}.",
        )
    ret.status = to.value
    audit.record(
        session,
        merchant_id=ret.merchant_id,
        entity_type="return",
        entity_id=ret.rma,
        action=f"status:{to.value}",
        actor=actor,
        data={"from": current.value, **(data or {})},
    )


def transition(
    session: Session, ret: ReturnRequest, to: ReturnStatus, *, actor: str, data: dict[str, Any] | None = None
) -> None:
    _move(session, ret, to, actor=actor, data=data)


def _email_context(
    ret: ReturnRequest, order: Order, decision: dict[str, Any] | None = None
) -> dict[str, Any]:
    pickup = ret.pickup
    return {
        "rma": ret.rma,
        "order_number": order.number,
        "items": [f"{i.quantity} x {i.order_item.name}" for i in ret.items],
        "reasons": [
            r["shopper_message"]
            for r in (decision or {}).get("rules", [])
            if r.get("shopper_message") and r.get("effect") != "info"
        ],
        "refund_amount": f"{ret.refund_amount:.2f} {order.currency}",
        "resolution": ret.resolution.replace("_", " "),
        "keep_item": ret.keep_item,
        "review_hours": REVIEW_HOURS,
        "note": "",
        "carrier": pickup.carrier if pickup else "",
        "reference": pickup.reference if pickup else "",
        "pickup_date": pickup.date.strftime("%A %d %B %Y") if pickup else "",
        "pickup_window": f"{pickup.window} ({WINDOWS[pickup.window]})" if pickup else "",
        "label_url": label_url(ret),
        "address": f"{order.shipping_name}, {order.address_line1}, {order.city} {order.postcode}",
    }


def _announce_created(
    session: Session, merchant: Merchant, ret: ReturnRequest, order: Order, decision: dict[str, Any]
) -> None:
    ctx = _email_context(ret, order, decision)
    event = (
        "return_approved"
        if ret.status in (ReturnStatus.approved, ReturnStatus.pickup_scheduled)
        else "return_under_review"
    )
    notify.enqueue(
        session, merchant=merchant, event=event, to=order.email, dedupe_key=f"{ret.rma}:{event}", context=ctx
    )
    if ret.status == ReturnStatus.pickup_scheduled:
        notify.enqueue(
            session,
            merchant=merchant,
            event="pickup_scheduled",
            to=order.email,
            dedupe_key=f"{ret.rma}:pickup:{ret.pickup.reference if ret.pickup else ''}",
            context=ctx,
        )


def label_url(ret: ReturnRequest) -> str:
    base = get_settings().public_base_url.rstrip("/")
    return f"{base}/api/v1/returns/{ret.rma}/label.pdf?token={ret.label_token}"


def serialize(ret: ReturnRequest) -> dict[str, Any]:
    decision = ret.decision
    pickup = ret.pickup
    return {
        "rma": ret.rma,
        "order_number": ret.order.number,
        "status": ret.status,
        "resolution": ret.resolution,
        "refund_amount": f"{ret.refund_amount:.2f}",
        "currency": ret.order.currency,
        "keep_item": ret.keep_item,
        "created_at": ret.created_at.isoformat(),
        "items": [
            {
                "order_item_id": i.order_item_id,
                "name": i.order_item.name,
                "quantity": i.quantity,
                "reason_code": i.reason_code,
                "reason_text": i.reason_text,
                "photo_ids": [p.id for p in i.photos],
            }
            for i in ret.items
        ],
        "decision": None
        if decision is None
        else {
            "outcome": decision.outcome,
            "policy_version": decision.policy_version,
            "rules": decision.rules,
            "decided_by": decision.decided_by,
            "reasons": [r.get("shopper_message", "") for r in decision.rules if r.get("effect") != "info"],
        },
        "pickup": None
        if pickup is None
        else {
            "carrier": pickup.carrier,
            "date": pickup.date.isoformat(),
            "window": pickup.window,
            "hours": WINDOWS[pickup.window],
            "reference": pickup.reference,
            "status": pickup.status,
            "address": {
                "name": pickup.name,
                "line1": pickup.address_line1,
                "city": pickup.city,
                "postcode": pickup.postcode,
                "country": pickup.country,
            },
        },
        "label_url": label_url(ret) if pickup is not None else None,
        "review_hours": REVIEW_HOURS if ret.status == ReturnStatus.under_review else None,
    }


# --- shopper self-service ----------------------------------------------------------------------


def _with_proof(session: Session, rma: str, proof: Proof | None) -> ReturnRequest:
    ret = session.scalar(select(ReturnRequest).where(ReturnRequest.rma == rma.strip().upper()))
    if ret is None:
        raise ReturnError(404, RETURN_NOT_FOUND)
    if proof is not None:
        order = find_order(
            session,
            order_number=ret.order.number,
            email=proof.email,
            postcode=proof.postcode,
            merchant_id=ret.merchant_id,
        )
        if order is None or order.id != ret.order_id:
            raise ReturnError(404, RETURN_NOT_FOUND)
    return ret


def lookup(session: Session, query: ReturnLookup) -> list[dict[str, Any]]:
    if query.rma:
        return [serialize(_with_proof(session, query.rma, query))]
    order = _resolve(
        session,
        order_number=normalise_order_number(query.order_number or ""),
        email=query.email,
        postcode=query.postcode,
        refresh=False,
    )
    if order is None:
        raise ReturnError(404, NOT_FOUND)
    rets = session.scalars(
        select(ReturnRequest).where(ReturnRequest.order_id == order.id).order_by(ReturnRequest.id)
    )
    return [serialize(r) for r in rets]


def cancel(session: Session, rma: str, proof: Proof | None, *, actor: str) -> dict[str, Any]:
    ret = _with_proof(session, rma, proof)
    if ReturnStatus(ret.status) not in CANCELLABLE:
        raise ReturnError(
            409, f"Return {ret.rma} is {ret.status.replace('_', ' ')} and can no longer be cancelled."
        )
    _move(session, ret, ReturnStatus.cancelled, actor=actor)
    for pickup in ret.pickups:
        pickup.status = "cancelled"
    merchant = session.get(Merchant, ret.merchant_id)
    assert merchant is not None
    notify.enqueue(
        session,
        merchant=merchant,
        event="return_cancelled",
        to=ret.order.email,
        dedupe_key=f"{ret.rma}:cancelled",
        context=_email_context(ret, ret.order),
    )
    session.flush()
    return serialize(ret)


def reschedule(
    session: Session, rma: str, proof: Proof | None, day: date, window: str, *, actor: str
) -> dict[str, Any]:
    ret = _with_proof(session, rma, proof)
    old = ret.pickup
    if old is None or ret.status not in (ReturnStatus.pickup_scheduled, ReturnStatus.under_review):
        raise ReturnError(409, f"Return {ret.rma} has no pickup that can be moved.")
    on_hold = old.status == "on_hold"
    old.status = "cancelled"
    session.flush()
    try:
        booking = get_carrier().book(session, postcode=old.postcode, day=day, window=window, today=today())
    except SlotUnavailable as exc:
        raise ReturnError(409, str(exc)) from None
    session.add(
        Pickup(
            return_id=ret.id,
            carrier=booking.carrier,
            date=booking.date,
            window=booking.window,
            reference=booking.reference,
            status="on_hold" if on_hold else "scheduled",
            name=old.name,
            address_line1=old.address_line1,
            city=old.city,
            postcode=old.postcode,
            country=old.country,
        )
    )
    audit.record(
        session,
        merchant_id=ret.merchant_id,
        entity_type="return",
        entity_id=ret.rma,
        action="pickup_rescheduled",
        actor=actor,
        data={"from": old.reference, "to": booking.reference, "date": day.isoformat(), "window": window},
    )
    session.flush()
    session.refresh(ret)
    merchant = session.get(Merchant, ret.merchant_id)
    assert merchant is not None
    if not on_hold:
        notify.enqueue(
            session,
            merchant=merchant,
            event="pickup_scheduled",
            to=ret.order.email,
            dedupe_key=f"{ret.rma}:pickup:{booking.reference}",
            context=_email_context(ret, ret.order),
        )
    return serialize(ret)


def history(session: Session, rma: str, proof: Proof | None) -> list[dict[str, Any]]:
    from api.models import AuditLog

    ret = _with_proof(session, rma, proof)
    rows = session.scalars(
        select(AuditLog)
        .where(AuditLog.entity_type == "return", AuditLog.entity_id == ret.rma)
        .order_by(AuditLog.id)
    )
    return [
        {
            "at": r.created_at.isoformat(),
            "action": r.action,
            "status": r.action.split(":", 1)[1] if r.action.startswith("status:") else None,
        }
        for r in rows
    ]
