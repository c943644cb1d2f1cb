"""The payment interface: refunds and store credit, with the shape of a real provider's call.

Every call carries an idempotency key, an amount in minor units, a currency and a reason, like
Stripe's `POST /v1/refunds` (`Idempotency-Key` header, `amount`, `payment_intent`, `reason`,
`metadata`) or Adyen's `/refunds`. A call repeated with the same key returns the first result
and moves no money twice; the same key with another amount is an error.

The built-in provider (`PAYMENT_PROVIDER=ledger`, the default) writes `payment_ledger` rows in
the caller's transaction: the money is "moved" exactly when the return's status changes. A
provider that calls out over HTTP would register itself in PROVIDERS and be called with the
same arguments; its idempotency key makes the retry after a crash safe.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import LedgerEntry
from api.settings import get_settings

# ISO 4217 exponents that are not 2.
_EXPONENTS = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "HUF": 2,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}

REFUND_REASONS = ("requested_by_customer", "duplicate", "fraudulent")


class PaymentError(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: Decimal, currency: str) -> int:
    scale = Decimal(10) ** exponent(currency)
    return int((Decimal(amount) * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor) / (Decimal(10) ** exponent(currency))


def format_money(amount_minor: int, currency: str) -> str:
    return f"{from_minor(amount_minor, currency):.{exponent(currency)}f} {currency.upper()}"


@dataclass(frozen=True)
class PaymentResult:
    provider: str
    reference: str  # the provider's id for the refund / credit (re_..., the credit code)
    status: str  # succeeded | pending | failed
    amount_minor: int
    currency: str
    kind: str
    replayed: bool = False  # True when the idempotency key was seen before
    data: dict[str, Any] = field(default_factory=dict)


class PaymentProvider(Protocol):
    name: str

    def refund(
        self,
        session: Session,
        *,
        idempotency_key: str,
        amount_minor: int,
        currency: str,
        reason: str,
        payment_reference: str,
        merchant_id: int,
        return_id: int,
        metadata: dict[str, Any] | None = None,
    ) -> PaymentResult: ...

    def issue_store_credit(
        self,
        session: Session,
        *,
        idempotency_key: str,
        amount_minor: int,
        currency: str,
        reason: str,
        merchant_id: int,
        return_id: int,
        metadata: dict[str, Any] | None = None,
    ) -> PaymentResult: ...


def _code(prefix: str, n: int = 10) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


class LedgerProvider:
    """Built-in: a ledger table in the shop's own database."""

    name = "ledger"

    def _replay(
        self, session: Session, key: str, kind: str, amount_minor: int, currency: str
    ) -> PaymentResult | None:
        entry = session.scalar(select(LedgerEntry).where(LedgerEntry.idempotency_key == key))
        if entry is None:
            return None
        if (entry.kind, entry.amount_minor, entry.currency) != (kind, amount_minor, currency.upper()):
            raise PaymentError(409, "This idempotency key was already used for another payment.")
        return self._result(entry, replayed=True)

    @staticmethod
    def _result(entry: LedgerEntry, *, replayed: bool = False) -> PaymentResult:
        return PaymentResult(
            provider=entry.provider,
            reference=entry.provider_reference,
            status=entry.status,
            amount_minor=entry.amount_minor,
            currency=entry.currency,
            kind=entry.kind,
            replayed=replayed,
            data=dict(entry.data or {}),
        )

    def _write(
        self,
        session: Session,
        *,
        kind: str,
        key: str,
        reference: str,
        amount_minor: int,
        currency: str,
        reason: str,
        payment_reference: str,
        merchant_id: int,
        return_id: int,
        metadata: dict[str, Any] | None,
    ) -> PaymentResult:
        if amount_minor < 0:
            raise PaymentError(422, "The amount cannot be negative.")
        replay = self._replay(session, key, kind, amount_minor, currency)
        if replay is not None:
            return replay
        entry = LedgerEntry(
            merchant_id=merchant_id,
            return_id=return_id,
            kind=kind,
            idempotency_key=key,
            provider=self.name,
            provider_reference=reference,
            payment_reference=payment_reference,
            amount_minor=amount_minor,
            currency=currency.upper(),
            reason=reason,
            status="succeeded",
            data=dict(metadata or {}),
        )
        session.add(entry)
        session.flush()
        return self._result(entry)

    def refund(
        self,
        session: Session,
        *,
        idempotency_key: str,
        amount_minor: int,
        currency: str,
        reason: str,
        payment_reference: str,
        merchant_id: int,
        return_id: int,
        metadata: dict[str, Any] | None = None,
    ) -> PaymentResult:
        if reason not in REFUND_REASONS:
            raise PaymentError(422, f"Unknown refund reason {reason!r}.")
        return self._write(
            session,
            kind="refund",
            key=idempotency_key,
            reference=_code("re_", 16),
            amount_minor=amount_minor,
            currency=currency,
            reason=reason,
            payment_reference=payment_reference,
            merchant_id=merchant_id,
            return_id=return_id,
            metadata=metadata,
        )

    def issue_store_credit(
        self,
        session: Session,
        *,
        idempotency_key: str,
        amount_minor: int,
        currency: str,
        reason: str,
        merchant_id: int,
        return_id: int,
        metadata: dict[str, Any] | None = None,
    ) -> PaymentResult:
        return self._write(
            session,
            kind="store_credit",
            key=idempotency_key,
            reference=_code("SC-"),
            amount_minor=amount_minor,
            currency=currency,
            reason=reason,
            payment_reference="",
            merchant_id=merchant_id,
            return_id=return_id,
            metadata=metadata,
        )

    def record_exchange(
        self,
        session: Session,
        *,
        idempotency_key: str,
        currency: str,
        merchant_id: int,
        return_id: int,
        metadata: dict[str, Any] | None = None,
    ) -> PaymentResult:
        """An exchange moves no money; its shipment is recorded in the same ledger."""
        return self._write(
            session,
            kind="exchange",
            key=idempotency_key,
            reference=_code("EX-"),
            amount_minor=0,
            currency=currency,
            reason="exchange",
            payment_reference="",
            merchant_id=merchant_id,
            return_id=return_id,
            metadata=metadata,
        )


PROVIDERS: dict[str, type[LedgerProvider]] = {"ledger": LedgerProvider}


def get_provider(name: str | None = None) -> LedgerProvider:
    name = name or get_settings().payment_provider
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise PaymentError(500, f"Unknown PAYMENT_PROVIDER {name!r}; known: {', '.join(PROVIDERS)}") from None
