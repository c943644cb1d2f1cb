"""After the chat: money movements (the built-in payment ledger), chat notices, delivery attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base
from api.models._types import Timestamp, UTCDateTime


class LedgerEntry(Base):
    """One refund / store credit / exchange, as the built-in payment provider records it.

    `idempotency_key` is unique: a repeated call with the same key returns the first entry, the
    way a real provider's refund API answers a retried request."""

    __tablename__ = "payment_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("return_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # refund | store_credit | exchange
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    provider: Mapped[str] = mapped_column(String(32), default="ledger")
    provider_reference: Mapped[str] = mapped_column(String(64), unique=True)
    payment_reference: Mapped[str] = mapped_column(String(64), default="")  # the original charge
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="succeeded")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[Timestamp]


class ChatNotice(Base):
    """A message for the shopper's chat (Rasa trigger_intent), queued like an email."""

    __tablename__ = "chat_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    rma: Mapped[str] = mapped_column(String(32), index=True)
    conversation_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32))
    intent: Mapped[str] = mapped_column(String(64))
    entities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[Timestamp]


class DeliveryAttempt(Base):
    """Each try to deliver an outbox email or a chat notice; the `sent` one is written in the
    same transaction that marks its message sent."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(16))  # outbox | chat
    message_id: Mapped[int] = mapped_column(Integer, index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # sent | error
    transport: Mapped[str] = mapped_column(String(16))  # file | smtp | rasa
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[Timestamp]
