"""The dashboard's lists: returns (search, filters, CSV), handoff tickets, the outbox, the audit log.

Every query starts from the signed-in merchant's id.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from api.models import AuditLog, HandoffTicket, Order, OutboxMessage, ReturnItem, ReturnRequest, ReturnStatus
from api.services import audit
from api.services.orders import normalise_order_number
from api.services.review import ReviewError

PAGE_SIZE = 50
CSV_LIMIT = 50_000
STATUSES = tuple(s.value for s in ReturnStatus)


@dataclass(frozen=True)
class ReturnFilters:
    q: str = ""
    status: str = ""
    reason: str = ""
    start: date | None = None
    end: date | None = None

    @classmethod
    def parse(
        cls,
        q: str | None = None,
        status: str | None = None,
        reason: str | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> ReturnFilters:
        return cls(
            q=(q or "").strip()[:200],
            status=status if status in STATUSES else "",
            reason=(reason or "").strip()[:32],
            start=_day(start),
            end=_day(end),
        )

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for links, the CSV export and paging)."""
        values = {
            "q": self.q,
            "status": self.status,
            "reason": self.reason,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
        }
        return {k: v for k, v in values.items() if v}


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _filtered(merchant_id: int, filters: ReturnFilters) -> Select[Any]:
    stmt = (
        select(ReturnRequest)
        .join(Order, ReturnRequest.order_id == Order.id)
        .where(ReturnRequest.merchant_id == merchant_id)
    )
    if filters.q:
        term = filters.q
        like = f"%{term.lower()}%"
        conditions = [ReturnRequest.rma == term.upper(), func.lower(Order.email).like(like)]
        number = normalise_order_number(term)
        if number:
            conditions.append(Order.number == number)
        stmt = stmt.where(or_(*conditions))
    if filters.status:
        stmt = stmt.where(ReturnRequest.status == filters.status)
    if filters.reason:
        stmt = stmt.where(
            ReturnRequest.id.in_(select(ReturnItem.return_id).where(ReturnItem.reason_code == filters.reason))
        )
    if filters.start:
        stmt = stmt.where(ReturnRequest.created_at >= datetime.combine(filters.start, time.min, tzinfo=UTC))
    if filters.end:
        stmt = stmt.where(
            ReturnRequest.created_at < datetime.combine(filters.end + timedelta(days=1), time.min, tzinfo=UTC)
        )
    return stmt


@dataclass
class Page:
    """One page of a list (returns, emails, audit lines)."""

    rows: list[Any]
    total: int
    page: int
    pages: int


def search_returns(db: Session, merchant_id: int, filters: ReturnFilters, page: int = 1) -> Page:
    stmt = _filtered(merchant_id, filters)
    total = int(db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = list(
        db.scalars(
            stmt.options(
                selectinload(ReturnRequest.items).selectinload(ReturnItem.order_item),
                selectinload(ReturnRequest.order),
                selectinload(ReturnRequest.decisions),
            )
            .order_by(ReturnRequest.created_at.desc(), ReturnRequest.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    return Page(rows, total, page, pages)


CSV_COLUMNS = (
    "rma",
    "created_at",
    "status",
    "order_number",
    "email",
    "customer",
    "items",
    "reasons",
    "resolution",
    "refund_amount",
    "currency",
    "decision",
    "decided_by",
    "pickup_date",
    "pickup_window",
    "pickup_status",
    "channel",
)


def _cell(value: Any) -> str:
    """Text as a spreadsheet shows it, never as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def returns_csv(db: Session, merchant_id: int, filters: ReturnFilters) -> str:
    rows = db.scalars(
        _filtered(merchant_id, filters)
        .options(
            selectinload(ReturnRequest.items).selectinload(ReturnItem.order_item),
            selectinload(ReturnRequest.order).selectinload(Order.customer),
            selectinload(ReturnRequest.decisions),
            selectinload(ReturnRequest.pickups),
        )
        .order_by(ReturnRequest.created_at.desc(), ReturnRequest.id.desc())
        .limit(CSV_LIMIT)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for ret in rows:
        decision, pickup, order = ret.decision, ret.pickup, ret.order
        writer.writerow(
            [
                _cell(v)
                for v in (
                    ret.rma,
                    ret.created_at.astimezone(UTC).isoformat(timespec="seconds"),
                    ret.status,
                    order.number,
                    order.email,
                    order.customer.name if order.customer else "",
                    "; ".join(f"{i.quantity} x {i.order_item.name}" for i in ret.items),
                    "; ".join(i.reason_code for i in ret.items),
                    ret.resolution,
                    f"{ret.refund_amount:.2f}",
                    order.currency,
                    decision.outcome if decision else "",
                    decision.decided_by if decision else "",
                    pickup.date.isoformat() if pickup else "",
                    pickup.window if pickup else "",
                    pickup.status if pickup else "",
                    ret.channel,
                )
            ]
        )
    return out.getvalue()


# --- handoff tickets ------------------------------------------------------------------------


def handoffs(db: Session, merchant_id: int, status: str = "open") -> list[HandoffTicket]:
    stmt = select(HandoffTicket).where(HandoffTicket.merchant_id == merchant_id)
    if status in ("open", "closed"):
        stmt = stmt.where(HandoffTicket.status == status)
    return list(
        db.scalars(stmt.order_by(HandoffTicket.created_at.desc(), HandoffTicket.id.desc()).limit(500))
    )


def handoff_counts(db: Session, merchant_id: int) -> dict[str, int]:
    rows = db.execute(
        select(HandoffTicket.status, func.count(HandoffTicket.id))
        .where(HandoffTicket.merchant_id == merchant_id)
        .group_by(HandoffTicket.status)
    )
    return {status: int(n) for status, n in rows.all()}


def close_handoff(
    db: Session, merchant_id: int, ticket_id: int, *, actor: str, note: str = ""
) -> HandoffTicket:
    ticket = db.scalar(
        select(HandoffTicket).where(HandoffTicket.id == ticket_id, HandoffTicket.merchant_id == merchant_id)
    )
    if ticket is None:
        raise ReviewError(404, "No such ticket.")
    if ticket.status == "closed":
        raise ReviewError(409, f"Ticket {ticket.id} is already closed.")
    ticket.status = "closed"
    audit.record(
        db,
        merchant_id=merchant_id,
        entity_type="handoff",
        entity_id=ticket.id,
        action="closed",
        actor=actor,
        data={"note": note.strip()[:2000]},
    )
    return ticket


def open_handoff_count(db: Session, merchant_id: int) -> int:
    return int(
        db.scalar(
            select(func.count(HandoffTicket.id)).where(
                HandoffTicket.merchant_id == merchant_id, HandoffTicket.status == "open"
            )
        )
        or 0
    )


# --- outbox -------------------------------------------------------------------------------------


def outbox(db: Session, merchant_id: int, q: str = "", page: int = 1) -> Page:
    stmt = select(OutboxMessage).where(OutboxMessage.merchant_id == merchant_id)
    if q.strip():
        like = f"%{q.strip().lower()[:200]}%"
        stmt = stmt.where(
            or_(func.lower(OutboxMessage.to_address).like(like), func.lower(OutboxMessage.subject).like(like))
        )
    total = int(db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = list(
        db.scalars(stmt.order_by(OutboxMessage.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    )
    return Page(rows, total, page, pages)


def outbox_message(db: Session, merchant_id: int, message_id: int) -> OutboxMessage:
    message = db.scalar(
        select(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.merchant_id == merchant_id)
    )
    if message is None:
        raise ReviewError(404, "No such message.")
    return message


def messages_for_return(db: Session, merchant_id: int, rma: str) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.merchant_id == merchant_id, OutboxMessage.dedupe_key.like(f"{rma}:%"))
            .order_by(OutboxMessage.id)
        )
    )


# --- audit log ----------------------------------------------------------------------------------


def audit_log(db: Session, merchant_id: int, page: int = 1, entity: str = "") -> Page:
    stmt = select(AuditLog).where(AuditLog.merchant_id == merchant_id)
    if entity:
        stmt = stmt.where(AuditLog.entity_type == entity[:32])
    total = int(db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = list(db.scalars(stmt.order_by(AuditLog.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return Page(rows, total, page, pages)
