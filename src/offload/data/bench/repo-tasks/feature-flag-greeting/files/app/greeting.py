"""Greetings."""

from app.flags import Flags


def greet(name: str, flags: Flags | None = None) -> str:
    flags = flags or Flags()
    return f"Hello, {name}."
