"""Money as people read it: exact, to the cent, with the currency's sign."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from remedy.customers import minor_units

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def format_money(amount: Decimal | float | int, currency: str) -> str:
    """`$1,600,000.00`, `€300.00`, `£6.00`, `¥1,500`; other currencies `CHF 12.00`.

    Floats are converted through their shortest repr, so 49.95 stays 49.95; amounts are rounded
    half up to the currency's minor unit (yen and won have none).
    """
    value = amount if isinstance(amount, Decimal) else Decimal(repr(float(amount)))
    if not value.is_finite():
        return f"{currency} {value}"
    places = minor_units(currency)
    quantum = Decimal(1).scaleb(-places)
    value = value.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    digits = f"{abs(value):,.{places}f}"
    symbol = SYMBOLS.get(currency)
    if symbol is not None:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{currency} {digits}"
