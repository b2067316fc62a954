"""Numbers formatted for people: currency, percentages, thousands, durations.

Every function takes None (a rate whose denominator is 0, a model that did not fit) and
returns `n/a` for it, so a page never shows `None` or `nan`."""

from __future__ import annotations

import math

NA = "n/a"
# Typographic signs, written as escapes (ruff flags look-alike characters in source).
MINUS, TIMES, DASH = "\u2212", "\u00d7", "\u2013"
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF "}


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float | None, digits: int = 0) -> str:
    """12,345 (thousands separated)."""
    return NA if _missing(value) else f"{float(value):,.{digits}f}"


def money(value: float | None, currency: str = "EUR", digits: int | None = None) -> str:
    """€12,345 or €17.70: cents below 1 000, whole units above."""
    if _missing(value):
        return NA
    value = float(value)
    if digits is None:
        digits = 0 if abs(value) >= 1000 else 2
    symbol = CURRENCY_SYMBOLS.get(currency)
    text = f"{abs(value):,.{digits}f}"
    sign = MINUS if value < 0 else ""
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def percent(value: float | None, digits: int = 1) -> str:
    """A fraction from 0 to 1 as 12.3%."""
    return NA if _missing(value) else f"{100 * float(value):.{digits}f}%"


def score(value: float | None, digits: int = 0) -> str:
    """A value already on its own scale (NPS -100..100, CSAT 0..100)."""
    return NA if _missing(value) else f"{float(value):.{digits}f}".replace("-", MINUS)


def ratio(value: float | None) -> str:
    """ROAS: 3.21 followed by a times sign."""
    return NA if _missing(value) else f"{float(value):,.2f}{TIMES}"


def p_value(value: float | None) -> str:
    if _missing(value):
        return NA
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def duration_days(value: float | None) -> str:
    """Fractional days as a person says them: 40 s, 23 min, 5.1 h, 3.2 days."""
    if _missing(value):
        return NA
    seconds = float(value) * 86400
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{float(value):.1f} days"


def hours(value: float | None) -> str:
    return NA if _missing(value) else f"{float(value):.1f} h"


def compact(value: float | None) -> str:
    """Axis ticks: 950, 12k, 1.2M."""
    if _missing(value):
        return NA
    value = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def change(current: float | None, previous: float | None, unit: str) -> str | None:
    """The change against the previous period, None when there is nothing to compare
    with: `relative` +12.3% (amounts), `pp` +1.2 pp (fractions: percentage points),
    `points` +3.0 pts (scores such as NPS)."""
    if _missing(current) or _missing(previous):
        return None
    if unit == "pp":
        text = f"{100 * (current - previous):+.1f} pp"
    elif unit == "points":
        text = f"{current - previous:+.1f} pts"
    elif previous == 0:
        return None
    else:
        text = f"{100 * (current / previous - 1):+.1f}%"
    return text.replace("-", MINUS)
