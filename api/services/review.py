"""Merchant review of flagged returns: the queue, the evidence of one case, and the decisions.

Every function takes the signed-in merchant's id (or user) and never reads another merchant's
rows: a return, photo or ticket of another shop is "not found", exactly like one that does not
exist. Decisions land in the same transaction as their audit line, their `Decision` row
(`decided_by="user:<id>"`) and the shopper's email in the outbox; the caller commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from api.carrier import SlotUnavailable, get_carrier
from api.carrier.base import Booking
from api.carrier.local import next_business_days
from api.models import (
    AuditLog,
    DamageAssessment,
    Decision,
    Merchant,
    MerchantUser,
    Order,
    OrderItem,
    Photo,
    PhotoVerdict,
    Pickup,
    ReturnItem,
    ReturnRequest,
    ReturnStatus,
)
from api.services import audit, notify
from api.services import returns as returns_service
from api.services.decisions import active_policy
from api.settings import get_settings

log = logging.getLogger("api.review")

REVIEW_HOURS = returns_service.REVIEW_HOURS
VERDICT_LABELS = ("damaged", "intact", "unusable")
# Kept equal to vision.heads (tests check); the API process does not import torch.
SEVERITIES = ("minor", "severe")
DAMAGE_TYPES = ("crushed", "dented", "torn", "punctured", "broken", "wet", "other")
NOTE_MAX = 2000


class ReviewError(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def now() -> datetime:
    return datetime.now(UTC)


# --- ownership ----------------------------------------------------------------------------------


def owned_return(db: Session, merchant_id: int, rma: str) -> ReturnRequest:
    """The merchant's return by RMA; another merchant's RMA is 'not found', never shown."""
    ret = db.scalar(
        select(ReturnRequest).where(
            ReturnRequest.rma == rma.strip().upper(), ReturnRequest.merchant_id == merchant_id
        )
    )
    if ret is None:
        raise ReviewError(404, "No such return.")
    return ret


def owned_photo(db: Session, merchant_id: int, photo_id: str) -> Photo:
    photo = db.scalar(select(Photo).where(Photo.id == photo_id, Photo.merchant_id == merchant_id))
    if photo is None:
        raise ReviewError(404, "No such photo.")
    return photo


def item_value(ret: ReturnRequest) -> Decimal:
    """What the returned items cost the shopper (price paid x quantity)."""
    return sum((i.order_item.unit_price * i.quantity for i in ret.items), Decimal("0.00"))


def _value_column() -> Any:
    return (
        select(func.coalesce(func.sum(OrderItem.unit_price * ReturnItem.quantity), 0))
        .select_from(ReturnItem)
        .join(OrderItem, ReturnItem.order_item_id == OrderItem.id)
        .where(ReturnItem.return_id == ReturnRequest.id)
        .correlate(ReturnRequest)
        .scalar_subquery()
    )


# --- the queue ----------------------------------------------------------------------------------


@dataclass
class QueueRow:
    ret: ReturnRequest
    value: Decimal
    age: timedelta
    overdue: bool
    reasons: list[str]
    photo_count: int
    flags: list[str]  # codes of the rules that sent it to review


@dataclass
class Queue:
    rows: list[QueueRow]
    total: int
    overdue: int
    total_value: Decimal
    oldest: timedelta | None
    by_reason: dict[str, int] = field(default_factory=dict)
    decided_today: int = 0


def queue_count(db: Session, merchant_id: int) -> int:
    return int(
        db.scalar(
            select(func.count(ReturnRequest.id)).where(
                ReturnRequest.merchant_id == merchant_id,
                ReturnRequest.status == ReturnStatus.under_review.value,
            )
        )
        or 0
    )


def review_queue(db: Session, merchant_id: int, *, sort: str = "oldest") -> Queue:
    """Flagged returns: oldest first (highest value first among equals), or highest value first."""
    value = _value_column().label("value")
    stmt: Select[Any] = (
        select(ReturnRequest, value)
        .where(
            ReturnRequest.merchant_id == merchant_id, ReturnRequest.status == ReturnStatus.under_review.value
        )
        .options(
            selectinload(ReturnRequest.items).selectinload(ReturnItem.photos),
            selectinload(ReturnRequest.items).selectinload(ReturnItem.order_item),
            selectinload(ReturnRequest.decisions),
            selectinload(ReturnRequest.order),
        )
    )
    if sort == "value":
        stmt = stmt.order_by(value.desc(), ReturnRequest.created_at.asc(), ReturnRequest.id)
    else:
        stmt = stmt.order_by(ReturnRequest.created_at.asc(), value.desc(), ReturnRequest.id)
    current = now()
    rows = []
    by_reason: dict[str, int] = {}
    for ret, total in db.execute(stmt).all():
        age = current - ret.created_at
        decision = ret.decision
        flags = [
            r.get("code", "")
            for r in (decision.rules if decision else [])
            if r.get("effect") in ("review", "need_photos")
        ]
        reasons = sorted({i.reason_code for i in ret.items})
        for reason in reasons:
            by_reason[reason] = by_reason.get(reason, 0) + 1
        rows.append(
            QueueRow(
                ret=ret,
                value=Decimal(total).quantize(Decimal("0.01")),
                age=age,
                overdue=age > timedelta(hours=REVIEW_HOURS),
                reasons=reasons,
                photo_count=sum(len(i.photos) for i in ret.items),
                flags=flags,
            )
        )
    start_of_day = current.replace(hour=0, minute=0, second=0, microsecond=0)
    decided_today = int(
        db.scalar(
            select(func.count(Decision.id))
            .join(ReturnRequest, Decision.return_id == ReturnRequest.id)
            .where(
                ReturnRequest.merchant_id == merchant_id,
                Decision.decided_by.like("user:%"),
                Decision.outcome.in_(("approve", "reject")),
                Decision.created_at >= start_of_day,
            )
        )
        or 0
    )
    return Queue(
        rows=rows,
        total=len(rows),
        overdue=sum(r.overdue for r in rows),
        total_value=sum((r.value for r in rows), Decimal("0.00")),
        oldest=max((r.age for r in rows), default=None),
        by_reason=by_reason,
        decided_today=decided_today,
    )


# --- the evidence of one case -------------------------------------------------------------------


def model_verdict(assessment: DamageAssessment | None, damage: Any) -> str:
    """What the model says at the policy's thresholds: damaged | intact | unusable | unclear | none."""
    if assessment is None:
        return "none"
    if not assessment.quality_ok or assessment.unusable_probability > damage.max_unusable_probability:
        return "unusable"
    if assessment.confidence >= damage.min_confidence:
        if assessment.damage_probability >= damage.clearly_damaged:
            return "damaged"
        if assessment.damage_probability <= damage.clearly_not_damaged:
            return "intact"
    return "unclear"


@dataclass
class PhotoEvidence:
    photo: Photo
    assessment: DamageAssessment | None
    model_says: str
    verdict: PhotoVerdict | None
    verdict_by: str


@dataclass
class ItemEvidence:
    item: ReturnItem
    photos: list[PhotoEvidence]


@dataclass
class CaseView:
    ret: ReturnRequest
    order: Order
    value: Decimal
    items: list[ItemEvidence]
    decisions: list[Decision]
    rules: list[dict[str, Any]]
    past_returns: list[ReturnRequest]
    timeline: list[AuditLog]
    thresholds: Any
    policy_version: str
    can_decide: bool
    deciders: dict[str, str]


def latest_verdicts(db: Session, photo_ids: list[str]) -> dict[str, PhotoVerdict]:
    if not photo_ids:
        return {}
    rows = db.scalars(
        select(PhotoVerdict).where(PhotoVerdict.photo_id.in_(photo_ids)).order_by(PhotoVerdict.id)
    )
    return {v.photo_id: v for v in rows}


def user_names(db: Session, merchant_id: int) -> dict[str, str]:
    users = db.scalars(select(MerchantUser).where(MerchantUser.merchant_id == merchant_id))
    return {f"user:{u.id}": (u.name or u.email) for u in users}


def case_view(db: Session, merchant_id: int, rma: str) -> CaseView:
    ret = owned_return(db, merchant_id, rma)
    order = ret.order
    policy = active_policy(db, merchant_id)
    photos = [p for i in ret.items for p in i.photos]
    verdicts = latest_verdicts(db, [p.id for p in photos])
    names = user_names(db, merchant_id)
    items = []
    for item in ret.items:
        evidence = []
        for photo in sorted(item.photos, key=lambda p: p.created_at):
            verdict = verdicts.get(photo.id)
            evidence.append(
                PhotoEvidence(
                    photo=photo,
                    assessment=photo.assessment,
                    model_says=model_verdict(photo.assessment, policy.damage),
                    verdict=verdict,
                    verdict_by=names.get(f"user:{verdict.user_id}", "") if verdict else "",
                )
            )
        items.append(ItemEvidence(item=item, photos=evidence))
    past = list(
        db.scalars(
            select(ReturnRequest)
            .join(Order, ReturnRequest.order_id == Order.id)
            .where(
                ReturnRequest.merchant_id == merchant_id,
                Order.customer_id == order.customer_id,
                ReturnRequest.id != ret.id,
            )
            .order_by(ReturnRequest.created_at.desc())
        )
    )
    timeline = list(
        db.scalars(
            select(AuditLog)
            .where(
                AuditLog.merchant_id == merchant_id,
                AuditLog.entity_type == "return",
                AuditLog.entity_id == ret.rma,
            )
            .order_by(AuditLog.id)
        )
    )
    policy_decision = next((d for d in reversed(ret.decisions) if d.decided_by == "policy"), None)
    return CaseView(
        ret=ret,
        order=order,
        value=item_value(ret),
        items=items,
        decisions=list(ret.decisions),
        rules=list(policy_decision.rules) if policy_decision else [],
        past_returns=past,
        timeline=timeline,
        thresholds=policy.damage,
        policy_version=policy_decision.policy_version if policy_decision else policy.version,
        can_decide=ret.status == ReturnStatus.under_review.value,
        deciders=names,
    )


# --- decisions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatNotice:
    """What the chat hook needs, as plain values (it runs after the transaction is closed)."""

    rma: str
    conversation_id: str | None
    channel: str
    event: str  # review_approved | review_rejected | more_photos_requested
    message: str


def _clean_note(note: str, *, required: bool, what: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ReviewError(422, f"The note is too long (at most {NOTE_MAX} characters).")
    if required and not note:
        raise ReviewError(422, f"Write a note for the shopper: {what}")
    return note


def _require_reviewable(ret: ReturnRequest) -> None:
    if ret.status != ReturnStatus.under_review.value:
        raise ReviewError(
            409,
            f"Return {ret.rma} is {ret.status.replace('_', ' ')}; only returns "
            "under review can be decided here.",
        )


def _record_decision(
    ret: ReturnRequest, user: MerchantUser, *, outcome: str, note: str, rule: dict[str, Any]
) -> Decision:
    previous = ret.decision
    decision = Decision(
        outcome=outcome,
        decided_by=f"user:{user.id}",
        policy_version=previous.policy_version if previous else "",
        rules=[rule],
        resolutions=list(previous.resolutions) if previous else [ret.resolution],
        refund_amount=ret.refund_amount,
        keep_item=ret.keep_item,
        note=note,
    )
    ret.decisions.append(decision)
    return decision


def _merchant(db: Session, ret: ReturnRequest) -> Merchant:
    merchant = db.get(Merchant, ret.merchant_id)
    assert merchant is not None
    return merchant


def _held_pickup_slot(db: Session, ret: ReturnRequest) -> tuple[Pickup, Booking | None] | None:
    """The on-hold pickup to release, and a new booking when its slot has passed meanwhile.
    Raises before anything is written when no slot is left."""
    pickup = ret.pickup
    if pickup is None or pickup.status != "on_hold":
        return None
    today = returns_service.today()
    days = next_business_days(today, 10)
    if pickup.date in days:
        return pickup, None
    other = "afternoon" if pickup.window == "morning" else "morning"
    for day, window in [(d, pickup.window) for d in days] + [(d, other) for d in days]:
        try:
            return pickup, get_carrier().book(
                db, postcode=pickup.postcode, day=day, window=window, today=today
            )
        except SlotUnavailable:
            continue
    raise ReviewError(409, "No pickup slot is free in the next two weeks; approve again later.")


def approve(db: Session, user: MerchantUser, ret: ReturnRequest, note: str = "") -> ChatNotice:
    """Approve a flagged return: the on-hold pickup is booked and the shopper is emailed."""
    _require_reviewable(ret)
    note = _clean_note(note, required=False, what="")
    held = _held_pickup_slot(db, ret)
    actor = f"user:{user.id}"
    message = "Our team checked your return and approved it."
    decision = _record_decision(
        ret,
        user,
        outcome="approve",
        note=note,
        rule={
            "code": "review.approved",
            "effect": "approve",
            "shopper_message": message,
            "merchant_detail": f"Approved by {user.name or user.email}" + (f": {note}" if note else "."),
        },
    )
    returns_service.transition(db, ret, ReturnStatus.approved, actor=actor, data={"note": note})
    pickup_data = None
    if held is not None:
        pickup, booking = held
        if booking is not None:
            pickup.carrier, pickup.reference = booking.carrier, booking.reference
            pickup.date, pickup.window = booking.date, booking.window
        pickup.status = "scheduled"
        pickup_data = {
            "reference": pickup.reference,
            "date": pickup.date.isoformat(),
            "window": pickup.window,
        }
        returns_service.transition(db, ret, ReturnStatus.pickup_scheduled, actor=actor, data=pickup_data)
    db.flush()
    audit.record(
        db,
        merchant_id=ret.merchant_id,
        entity_type="return",
        entity_id=ret.rma,
        action="review:approved",
        actor=actor,
        data={"note": note, "decision_id": decision.id, "pickup": pickup_data},
    )
    merchant = _merchant(db, ret)
    context = returns_service._email_context(ret, ret.order, {"rules": decision.rules})
    context["note"] = note
    notify.enqueue(
        db,
        merchant=merchant,
        event="return_approved",
        to=ret.order.email,
        dedupe_key=f"{ret.rma}:return_approved",
        context=context,
    )
    if pickup_data is not None:
        notify.enqueue(
            db,
            merchant=merchant,
            event="pickup_scheduled",
            to=ret.order.email,
            dedupe_key=f"{ret.rma}:pickup:{pickup_data['reference']}",
            context=context,
        )
    return ChatNotice(
        ret.rma, ret.conversation_id, ret.channel, "review_approved", message + (f" {note}" if note else "")
    )


def reject(db: Session, user: MerchantUser, ret: ReturnRequest, note: str) -> ChatNotice:
    """Reject a flagged return: the held pickup is released and the shopper is told why."""
    _require_reviewable(ret)
    note = _clean_note(note, required=True, what="why is this return refused?")
    actor = f"user:{user.id}"
    message = "Our team checked your return and could not accept it."
    decision = _record_decision(
        ret,
        user,
        outcome="reject",
        note=note,
        rule={
            "code": "review.rejected",
            "effect": "reject",
            "shopper_message": message,
            "merchant_detail": f"Rejected by {user.name or user.email}: {note}",
        },
    )
    returns_service.transition(db, ret, ReturnStatus.rejected, actor=actor, data={"note": note})
    for pickup in ret.pickups:
        if pickup.status != "cancelled":
            pickup.status = "cancelled"
    db.flush()
    audit.record(
        db,
        merchant_id=ret.merchant_id,
        entity_type="return",
        entity_id=ret.rma,
        action="review:rejected",
        actor=actor,
        data={"note": note, "decision_id": decision.id},
    )
    context = returns_service._email_context(ret, ret.order, {"rules": decision.rules})
    context["note"] = note
    notify.enqueue(
        db,
        merchant=_merchant(db, ret),
        event="return_rejected",
        to=ret.order.email,
        dedupe_key=f"{ret.rma}:return_rejected",
        context=context,
    )
    return ChatNotice(ret.rma, ret.conversation_id, ret.channel, "review_rejected", f"{message} {note}")


def request_photos(db: Session, user: MerchantUser, ret: ReturnRequest, note: str) -> ChatNotice:
    """Ask the shopper for more photos; the return stays under review."""
    _require_reviewable(ret)
    note = _clean_note(note, required=True, what="which photo do you need?")
    actor = f"user:{user.id}"
    decision = _record_decision(
        ret,
        user,
        outcome="need_photos",
        note=note,
        rule={
            "code": "review.more_photos",
            "effect": "need_photos",
            "shopper_message": "We need another photo of the item to finish checking your return.",
            "merchant_detail": f"Asked for more photos by {user.name or user.email}: {note}",
        },
    )
    db.flush()
    audit.record(
        db,
        merchant_id=ret.merchant_id,
        entity_type="return",
        entity_id=ret.rma,
        action="review:more_photos_requested",
        actor=actor,
        data={"note": note, "decision_id": decision.id},
    )
    context = returns_service._email_context(ret, ret.order)
    context["note"] = note
    notify.enqueue(
        db,
        merchant=_merchant(db, ret),
        event="more_photos_requested",
        to=ret.order.email,
        dedupe_key=f"{ret.rma}:more_photos:{decision.id}",
        context=context,
    )
    return ChatNotice(ret.rma, ret.conversation_id, ret.channel, "more_photos_requested", note)


@dataclass
class BulkResult:
    approved: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notices: list[ChatNotice] = field(default_factory=list)


def bulk_approve(db: Session, user: MerchantUser, rmas: list[str], note: str = "") -> BulkResult:
    """Approve several flagged returns; ones that are not the merchant's or not under review are
    skipped (and listed), the others approved one by one."""
    result = BulkResult()
    for rma in dict.fromkeys(r.strip().upper()[:32] for r in rmas if r.strip()):
        try:
            ret = owned_return(db, user.merchant_id, rma)
            # approve() checks everything before it writes, so a skipped return leaves no trace.
            result.notices.append(approve(db, user, ret, note))
            result.approved.append(rma)
        except ReviewError:
            result.skipped.append(rma)
    if result.approved:
        audit.record(
            db,
            merchant_id=user.merchant_id,
            entity_type="review",
            entity_id="bulk",
            action="review:bulk_approved",
            actor=f"user:{user.id}",
            data={"approved": result.approved, "skipped": result.skipped, "note": note},
        )
    return result


def record_verdict(
    db: Session,
    user: MerchantUser,
    photo: Photo,
    *,
    label: str,
    severity: str | None = None,
    damage_type: str | None = None,
) -> PhotoVerdict:
    """The reviewer's label on one photo; the newest verdict on a photo is the one that counts."""
    if photo.merchant_id != user.merchant_id:
        raise ReviewError(404, "No such photo.")
    if label not in VERDICT_LABELS:
        raise ReviewError(422, "Choose damaged, intact or unusable.")
    severity = (severity or "").strip() or None
    damage_type = (damage_type or "").strip() or None
    if label != "damaged":
        severity = "none" if label == "intact" else None
        damage_type = None
    if severity not in (None, "none", *SEVERITIES):
        raise ReviewError(422, "Severity is minor or severe.")
    if damage_type not in (None, *DAMAGE_TYPES):
        raise ReviewError(422, "Unknown damage type.")
    verdict = PhotoVerdict(
        photo_id=photo.id, user_id=user.id, label=label, severity=severity, damage_type=damage_type
    )
    db.add(verdict)
    db.flush()
    assessment = photo.assessment
    audit.record(
        db,
        merchant_id=user.merchant_id,
        entity_type="photo",
        entity_id=photo.id,
        action="verdict",
        actor=f"user:{user.id}",
        data={
            "label": label,
            "severity": severity,
            "damage_type": damage_type,
            "model_probability": assessment.damage_probability if assessment else None,
            "model_version": assessment.model_version if assessment else None,
        },
    )
    return verdict


# --- the chat -----------------------------------------------------------------------------------


def tell_shopper_in_chat(notice: ChatNotice) -> bool:
    """Tell the shopper in their chat what the reviewer decided.

    Called after the decision is committed (in a background task), once per decided return.
    Where the channel allows a message the shopper did not prompt (socketio, telegram, whatsapp;
    settings.chat_notice_channels) it queues a chat notice; the outbox worker
    (api/services/mailer.py) then calls Rasa's
    `POST {rasa_url}/conversations/{conversation_id}/trigger_intent?output_channel=latest` with
    `{"name": "EXTERNAL_review_decision", "entities": {"rma", "review_event", "review_message"}}`,
    retrying with backoff when Rasa is away. Returns True when a notice was queued; never raises
    (the email, already in the outbox, is the notice of record).
    """
    import hashlib

    from api.db import session_scope
    from api.services.lifecycle import queue_chat_notice

    try:
        digest = hashlib.sha256(notice.message.encode()).hexdigest()[:12]
        with session_scope() as session:
            ret = session.scalar(select(ReturnRequest).where(ReturnRequest.rma == notice.rma))
            message = notice.message
            entities: dict[str, Any] = {"review_event": notice.event}
            pickup = ret.pickup if ret is not None else None
            if (
                ret is not None
                and notice.event == "review_approved"
                and pickup is not None
                and pickup.status == "scheduled"
            ):
                # The approval booked the pickup: say when, so the shopper can get the parcel ready.
                message += (
                    f" Pickup booked: {pickup.date:%A %d %B}, {pickup.window}, reference {pickup.reference}."
                )
                entities.update(
                    {
                        "pickup_date": pickup.date.isoformat(),
                        "pickup_window": pickup.window,
                        "pickup_reference": pickup.reference,
                        "label_url": returns_service.label_url(ret),
                    }
                )
            entities["review_message"] = message
            queued = queue_chat_notice(
                session,
                merchant_id=ret.merchant_id if ret is not None else None,
                rma=notice.rma,
                conversation_id=notice.conversation_id,
                channel=notice.channel,
                event=notice.event,
                message=message,
                dedupe_key=f"{notice.rma}:chat:{notice.event}:{digest}",
                intent="EXTERNAL_review_decision",
                entities=entities,
            )
        if queued is None:
            log.info(
                "chat notice not queued (channel %s cannot push): %s %s",
                notice.channel,
                notice.rma,
                notice.event,
            )
        return queued is not None
    except Exception:
        log.exception("chat notice for %s could not be queued", notice.rma)
        return False


@dataclass
class ChatMessage:
    sender: str  # shopper | bot
    text: str
    at: datetime | None
    photos: list[str] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)


@dataclass
class Transcript:
    available: bool
    messages: list[ChatMessage]
    problem: str = ""


def _message_from_event(event: dict[str, Any]) -> ChatMessage | None:
    kind = event.get("event")
    stamp = event.get("timestamp")
    at = datetime.fromtimestamp(float(stamp), UTC) if isinstance(stamp, (int, float)) else None
    text = str(event.get("text") or "")
    if kind == "user":
        photos: list[str] = []
        if text.startswith("/photo_uploaded"):
            entities = (event.get("parse_data") or {}).get("entities") or []
            for entity in entities:
                if entity.get("entity") == "photo_ids":
                    value = entity.get("value")
                    photos.extend(value if isinstance(value, list) else [str(value)])
            text = "sent a photo" if len(photos) <= 1 else f"sent {len(photos)} photos"
        elif text.startswith("/"):
            text = text.split("{", 1)[0].lstrip("/").replace("_", " ")
        return ChatMessage("shopper", text, at, photos=photos)
    if kind == "bot":
        data = event.get("data") or {}
        buttons = [str(b.get("title", "")) for b in (data.get("buttons") or []) if isinstance(b, dict)]
        if not text and data.get("image"):
            text = "[image]"
        if not text and not buttons:
            return None
        return ChatMessage("bot", text, at, buttons=buttons)
    return None


def chat_transcript(
    conversation_id: str | None, *, client: httpx.Client | None = None, timeout: float = 3.0
) -> Transcript:
    """The conversation from Rasa's tracker; when Rasa does not answer, say so (never raise)."""
    if not conversation_id:
        return Transcript(False, [], "This return was not started in a chat.")
    settings = get_settings()
    url = f"{settings.rasa_url.rstrip('/')}/conversations/{conversation_id}/tracker"
    params = {"include_events": "ALL"}
    if settings.rasa_token is not None and settings.rasa_token.get_secret_value():
        params["token"] = settings.rasa_token.get_secret_value()
    try:
        if client is not None:
            response = client.get(url, params=params, timeout=timeout)
        else:
            with httpx.Client() as own:
                response = own.get(url, params=params, timeout=timeout)
    except httpx.HTTPError as exc:
        log.warning("rasa tracker unavailable for %s: %s", conversation_id, exc)
        return Transcript(
            False,
            [],
            f"The chat server ({settings.rasa_url}) did not answer, so the "
            "transcript cannot be shown right now.",
        )
    if response.status_code != 200:
        return Transcript(
            False,
            [],
            f"The chat server answered {response.status_code}; the transcript cannot be shown right now.",
        )
    try:
        events = response.json().get("events") or []
    except ValueError:
        return Transcript(False, [], "The chat server sent something that is not a transcript.")
    messages = [m for m in (_message_from_event(e) for e in events if isinstance(e, dict)) if m]
    return Transcript(True, messages, "" if messages else "No messages in this conversation.")
