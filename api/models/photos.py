from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base
from api.models._types import Timestamp


class Photo(Base):
    __tablename__ = "photos"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # "ph_<random>"
    storage_key: Mapped[str] = mapped_column(String(255))  # content-addressed: sha256 + ext
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    conversation_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), default=None)
    return_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("return_items.id"), default=None, index=True
    )
    created_at: Mapped[Timestamp]

    return_item: Mapped[Any] = relationship("ReturnItem", back_populates="photos")
    assessments: Mapped[list[Any]] = relationship(
        "DamageAssessment", back_populates="photo", order_by="DamageAssessment.id"
    )

    @property
    def assessment(self) -> Any:
        return self.assessments[-1] if self.assessments else None
