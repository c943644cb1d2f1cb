"""Money helpers: amounts are Decimal with two places, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}


def to_money(value: object) -> Decimal:
    """Parse a price (str, int, Decimal or float written in a file) into a 2-place Decimal."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError('must be an amount of money such as "12.50"')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError('must be an amount of money such as "12.50"') from exc
    if not amount.is_finite():
        raise ValueError('must be an amount of money such as "12.50"')
    return quantize(amount)


def quantize(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str) -> str:
    symbol = _SYMBOLS.get(currency.upper())
    text = f"{quantize(amount):,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"
