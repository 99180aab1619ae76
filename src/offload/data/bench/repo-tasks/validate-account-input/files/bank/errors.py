"""Errors of the bank."""


class BankError(Exception):
    """Base class of the bank's errors."""
