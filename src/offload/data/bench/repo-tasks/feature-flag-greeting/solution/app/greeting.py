"""Greetings."""

from app.flags import Flags


def greet(name: str, flags: Flags | None = None) -> str:
    flags = flags or Flags()
    opening = "Good day" if flags.enabled("formal") else "Hello"
    text = f"{opening}, {name}."
    if flags.enabled("shout"):
        text = text[:-1].upper() + "!"
    return text
