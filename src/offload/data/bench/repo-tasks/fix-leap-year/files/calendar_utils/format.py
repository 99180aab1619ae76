"""Human-readable dates."""

from calendar_utils.dates import day_of_year, is_leap_year


def describe(year: int, month: int, day: int) -> str:
    total = 366 if is_leap_year(year) else 365
    kind = "leap year" if is_leap_year(year) else "common year"
    return f"day {day_of_year(year, month, day)} of {total} ({kind})"
