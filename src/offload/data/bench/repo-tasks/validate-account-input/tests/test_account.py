import math

import pytest

from bank.account import Account
from bank.errors import BankError, InsufficientFunds, InvalidAmount


def test_hierarchy():
    assert issubclass(InvalidAmount, BankError) and issubclass(InvalidAmount, ValueError)
    assert issubclass(InsufficientFunds, BankError)


def test_happy_path():
    a = Account("ada", 10)
    assert a.deposit(5) == 15
    assert a.withdraw(15) == 0
    b = Account("bob")
    a.deposit(3.5)
    a.transfer(b, 3.5)
    assert (a.balance, b.balance) == (0, 3.5)


@pytest.mark.parametrize("amount", [0, -1, -0.01, "5", None, True, math.inf, math.nan])
def test_bad_amounts(amount):
    a = Account("ada", 10)
    with pytest.raises(InvalidAmount):
        a.deposit(amount)
    with pytest.raises(InvalidAmount):
        a.withdraw(amount)
    assert a.balance == 10


def test_insufficient_funds():
    a = Account("ada", 10)
    with pytest.raises(InsufficientFunds, match="10"):
        a.withdraw(10.01)
    assert a.balance == 10


def test_transfer_is_atomic():
    a, b = Account("ada", 10), Account("bob", 1)
    with pytest.raises(InsufficientFunds):
        a.transfer(b, 11)
    assert (a.balance, b.balance) == (10, 1)
    with pytest.raises(InvalidAmount):
        a.transfer(b, -1)
    assert (a.balance, b.balance) == (10, 1)
    with pytest.raises(BankError):
        a.transfer(a, 1)
    assert a.balance == 10


@pytest.mark.parametrize("owner", ["", "   ", None, 3])
def test_owner(owner):
    with pytest.raises(ValueError):
        Account(owner)


@pytest.mark.parametrize("balance", [-1, "1", math.nan])
def test_initial_balance(balance):
    with pytest.raises(InvalidAmount):
        Account("ada", balance)
    assert Account("ada", 0).balance == 0
