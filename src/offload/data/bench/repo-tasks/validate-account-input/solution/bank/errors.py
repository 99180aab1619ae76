"""Errors of the bank."""


class BankError(Exception):
    """Base class of the bank's errors."""


class InvalidAmount(BankError, ValueError):
    """An amount that is not a positive, finite number."""


class InsufficientFunds(BankError):
    """A withdrawal larger than the balance."""
