"""Return requests and everything decided about them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base
from api.models._types import Money, Timestamp, UTCDateTime, utcnow


class ReturnStatus(enum.StrEnum):
    requested = "requested"
    under_review = "under_review"
    approved = "approved"
    rejected = "rejected"
    pickup_scheduled = "pickup_scheduled"
    picked_up = "picked_up"
    received = "received"
    refunded = "refunded"
    exchanged = "exchanged"
    credited = "credited"
    cancelled = "cancelled"


# Which lifecycle moves are allowed; everything else is a 409.
TRANSITIONS: dict[ReturnStatus, set[ReturnStatus]] = {
    ReturnStatus.requested: {
        ReturnStatus.under_review,
        ReturnStatus.approved,
        ReturnStatus.rejected,
        ReturnStatus.cancelled,
    },
    ReturnStatus.under_review: {
        ReturnStatus.approved,
        ReturnStatus.rejected,
        ReturnStatus.cancelled,
    },
    ReturnStatus.approved: {
        ReturnStatus.pickup_scheduled,
        ReturnStatus.refunded,
        ReturnStatus.credited,
        ReturnStatus.exchanged,
        ReturnStatus.cancelled,
    },
    ReturnStatus.rejected: set(),
    ReturnStatus.pickup_scheduled: {
        ReturnStatus.picked_up,
        ReturnStatus.cancelled,
        ReturnStatus.pickup_scheduled,
    },
    ReturnStatus.picked_up: {ReturnStatus.received},
    ReturnStatus.received: {
        ReturnStatus.refunded,
        ReturnStatus.exchanged,
        ReturnStatus.credited,
    },
    ReturnStatus.refunded: set(),
    ReturnStatus.exchanged: set(),
    ReturnStatus.credited: set(),
    ReturnStatus.cancelled: set(),
}

CANCELLABLE = {
    ReturnStatus.requested,
    ReturnStatus.under_review,
    ReturnStatus.approved,
    ReturnStatus.pickup_scheduled,
}


class ReturnRequest(Base):
    __tablename__ = "return_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    rma: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(24), default=ReturnStatus.requested.value)
    resolution: Mapped[str] = mapped_column(String(16), default="refund")
    refund_amount: Mapped[Money]
    keep_item: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(32), default="web")
    conversation_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    label_token: Mapped[str] = mapped_column(String(64))
    store_credit_code: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    order: Mapped[Any] = relationship("Order")
    items: Mapped[list[ReturnItem]] = relationship(back_populates="return_request", order_by="ReturnItem.id")
    decisions: Mapped[list[Decision]] = relationship(back_populates="return_request", order_by="Decision.id")
    pickups: Mapped[list[Pickup]] = relationship(back_populates="return_request", order_by="Pickup.id")

    @property
    def decision(self) -> Decision | None:
        return self.decisions[-1] if self.decisions else None

    @property
    def pickup(self) -> Pickup | None:
        active = [p for p in self.pickups if p.status != "cancelled"]
        return active[-1] if active else None


class ReturnItem(Base):
    __tablename__ = "return_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("return_requests.id"), index=True)
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    reason_code: Mapped[str] = mapped_column(String(32))
    reason_text: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(String(16), default="refund")
    exchange_variant_id: Mapped[int | None] = mapped_column(ForeignKey("product_variants.id"), default=None)
    condition_received: Mapped[str | None] = mapped_column(String(32), default=None)

    return_request: Mapped[ReturnRequest] = relationship(back_populates="items")
    order_item: Mapped[Any] = relationship("OrderItem")
    photos: Mapped[list[Any]] = relationship("Photo", back_populates="return_item")


class Decision(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("return_requests.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # approve | reject | review | need_photos
    decided_by: Mapped[str] = mapped_column(String(64), default="policy")  # policy | user:<id>
    policy_version: Mapped[str] = mapped_column(String(64))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    resolutions: Mapped[list[str]] = mapped_column(JSON, default=list)
    refund_amount: Mapped[Money]
    keep_item: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[Timestamp]

    return_request: Mapped[ReturnRequest] = relationship(back_populates="decisions")


class Pickup(Base):
    __tablename__ = "pickups"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("return_requests.id"), index=True)
    carrier: Mapped[str] = mapped_column(String(64))
    date: Mapped[date] = mapped_column(Date)
    window: Mapped[str] = mapped_column(String(16))  # morning | afternoon
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(24), default="scheduled")
    name: Mapped[str] = mapped_column(String(200), default="")
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2), default="US")
    created_at: Mapped[Timestamp]

    return_request: Mapped[ReturnRequest] = relationship(back_populates="pickups")


class DamageAssessment(Base):
    __tablename__ = "damage_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    photo_id: Mapped[str] = mapped_column(ForeignKey("photos.id"), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    damage_probability: Mapped[float] = mapped_column(Float)
    unusable_probability: Mapped[float] = mapped_column(Float, default=0.0)
    confidence: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16))
    damage_type: Mapped[str | None] = mapped_column(String(32), default=None)
    quality_ok: Mapped[bool] = mapped_column(Boolean, default=True)
    quality_issues: Mapped[list[str]] = mapped_column(JSON, default=list)
    quality_message: Mapped[str] = mapped_column(Text, default="")
    heatmap_key: Mapped[str | None] = mapped_column(String(255), default=None)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[Timestamp]

    photo: Mapped[Any] = relationship("Photo", back_populates="assessments")

    def as_policy_dict(self) -> dict[str, Any]:
        return {
            "damage_probability": self.damage_probability,
            "unusable_probability": self.unusable_probability,
            "confidence": self.confidence,
            "severity": self.severity,
            "damage_type": self.damage_type,
            "quality": {
                "ok": self.quality_ok,
                "issues": list(self.quality_issues or []),
                "message": self.quality_message,
            },
            "model_version": self.model_version,
        }


class PhotoVerdict(Base):
    """A reviewer's label on a photo: the data the model learns from."""

    __tablename__ = "photo_verdicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    photo_id: Mapped[str] = mapped_column(ForeignKey("photos.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("merchant_users.id"))
    label: Mapped[str] = mapped_column(String(16))  # damaged | intact | unusable
    severity: Mapped[str | None] = mapped_column(String(16), default=None)
    damage_type: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[Timestamp]
