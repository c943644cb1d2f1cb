"""Request and response bodies of the public API (apart from the ORM models)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

REASON_CODES = Literal[
    "damaged_on_arrival",
    "defective",
    "wrong_item",
    "doesnt_fit",
    "not_as_described",
    "changed_mind",
    "arrived_late",
    "other",
]


class Proof(BaseModel):
    """Ownership proof: the email or the postcode on the order."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=254)
    postcode: str | None = Field(default=None, max_length=16)

    @model_validator(mode="after")
    def _one_proof(self) -> Proof:
        if not (self.email or self.postcode):
            raise ValueError("give the email address or the postcode on the order")
        return self


class OrderLookup(Proof):
    order_number: str = Field(min_length=1, max_length=40)


class DraftItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_item_id: int
    quantity: int = Field(default=1, ge=1, le=100)
    reason_code: REASON_CODES
    reason_text: str = Field(default="", max_length=2000)
    photo_ids: list[str] = Field(default_factory=list, max_length=10)
    exchange_variant_id: int | None = None


class ReturnDraft(OrderLookup):
    items: list[DraftItem] = Field(min_length=1, max_length=20)
    resolution: Literal["refund", "exchange", "store_credit"] | None = None
    conversation_id: str | None = Field(default=None, max_length=128)
    channel: str = Field(default="web", max_length=32)


class PickupChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    window: Literal["morning", "afternoon"]


class ReturnCreate(ReturnDraft):
    pickup: PickupChoice | None = None
    address_confirmed: bool = False


class ReturnLookup(Proof):
    rma: str | None = Field(default=None, max_length=32)
    order_number: str | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def _which(self) -> ReturnLookup:
        if not (self.rma or self.order_number):
            raise ValueError("give the return number (RMA) or the order number")
        return self


class Reschedule(Proof):
    date: date
    window: Literal["morning", "afternoon"]


class AssessmentIn(BaseModel):
    damage_probability: float = Field(ge=0, le=1)
    severity: Literal["none", "minor", "severe"]
    damage_type: str | None = None
    confidence: float = Field(ge=0, le=1)
    unusable_probability: float = Field(default=0.0, ge=0, le=1)
    quality: dict[str, object] = Field(default_factory=dict)
    model_version: str = Field(max_length=64)
    latency_ms: float = 0.0
    heatmap_png_b64: str | None = None


class HeatmapIn(BaseModel):
    heatmap_png_b64: str = Field(max_length=20_000_000)
    model_version: str = Field(max_length=64)


class HandoffIn(BaseModel):
    conversation_id: str = Field(max_length=128)
    channel: str = Field(default="web", max_length=32)
    order_number: str | None = Field(default=None, max_length=40)
    message: str = Field(default="", max_length=4000)
