"""Numbers typed in forms and query strings: the one parser.

Every key is an SQL INTEGER; a larger number must never reach the database (PostgreSQL answers
"integer out of range", SQLite raises past 2**63): out of that range is the same as not a number.
"""

from __future__ import annotations

INTEGER_MIN = -(2**31)
INTEGER_MAX = 2**31 - 1  # SQL INTEGER, the type of every primary key


def int_or_none(value: object, *, invalid: int | None = None) -> int | None:
    """``value`` as a whole number within SQL INTEGER; None when it is empty or missing.

    A value that is not a whole number, or lies outside the range, gives ``invalid`` (None by
    default: ignored; a form that must refuse it passes a number that matches nothing, ``0``).
    """
    if value is None or value == "":
        return None
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return invalid
    return number if INTEGER_MIN <= number <= INTEGER_MAX else invalid


def page_number(value: object, *, last: int) -> int:
    """A page number from a query string, between 1 and ``last`` (1 when absent or wrong)."""
    return min(max(int_or_none(value) or 1, 1), last)
