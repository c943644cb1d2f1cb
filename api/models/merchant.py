from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base
from api.models._types import Timestamp, UTCDateTime


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    brand_color: Mapped[str] = mapped_column(String(16), default="#1f6feb")
    support_email: Mapped[str] = mapped_column(String(254), default="")
    warehouse_address: Mapped[str] = mapped_column(Text, default="")
    policy_yaml: Mapped[str | None] = mapped_column(Text, default=None)  # merchant override
    created_at: Mapped[Timestamp]

    users: Mapped[list[MerchantUser]] = relationship(back_populates="merchant")


class MerchantUser(Base):
    __tablename__ = "merchant_users"
    __table_args__ = (UniqueConstraint("email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="reviewer")  # admin | reviewer
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[Timestamp]

    merchant: Mapped[Merchant] = relationship(back_populates="users")
