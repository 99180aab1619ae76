"""Calendar helpers."""

from calendar_utils.dates import day_of_year, days_in_month, is_leap_year
from calendar_utils.format import describe

__all__ = ["day_of_year", "days_in_month", "describe", "is_leap_year"]
