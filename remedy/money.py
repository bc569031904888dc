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


def format_money_short(amount: float, currency: str) -> str:
    """Money for a crowded table: `$61.71`, `$6,228`, `$12.5k`, `$1.60M`.

    Exact amounts are in the JSON, the Markdown and the drafts; a terminal table needs width.
    """
    value = float(amount)
    size = abs(value)
    if size < 1_000:
        return format_money(value, currency)
    sign = "-" if value < 0 else ""
    if size < 10_000:
        digits = f"{size:,.0f}"
    elif size < 1_000_000:
        digits = f"{size / 1_000:.1f}k" if size < 100_000 else f"{size / 1_000:.0f}k"
    elif size < 1_000_000_000:
        digits = f"{size / 1_000_000:.2f}M"
    else:
        digits = f"{size / 1_000_000_000:.2f}B"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol is not None else f"{sign}{currency} {digits}"
