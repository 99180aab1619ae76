"""Accounts."""

import math

from bank.errors import BankError, InsufficientFunds, InvalidAmount


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_amount(amount: object) -> float:
    if not _number(amount) or amount <= 0:  # type: ignore[operator]
        raise InvalidAmount(f"amount must be a positive number, got {amount!r}")
    return amount  # type: ignore[return-value]


class Account:
    def __init__(self, owner: str, balance: float = 0.0) -> None:
        if not isinstance(owner, str) or not owner.strip():
            raise ValueError("owner must be a non-empty string")
        if not _number(balance) or balance < 0:
            raise InvalidAmount(f"initial balance must be a number >= 0, got {balance!r}")
        self.owner = owner
        self.balance = balance

    def deposit(self, amount: float) -> float:
        self.balance += _check_amount(amount)
        return self.balance

    def withdraw(self, amount: float) -> float:
        amount = _check_amount(amount)
        if amount > self.balance:
            raise InsufficientFunds(f"cannot withdraw {amount}: the balance is {self.balance}")
        self.balance -= amount
        return self.balance

    def transfer(self, other: "Account", amount: float) -> None:
        if other is self:
            raise BankError("cannot transfer to the same account")
        self.withdraw(amount)
        other.deposit(amount)


__all__ = ["Account", "BankError"]
