"""The parser."""

from kv.errors import ParseError


def parse(text: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ParseError(number, f"expected key=value, got {raw!r}")
        key, value = (part.strip() for part in line.split("=", 1))
        if not key:
            raise ParseError(number, "empty key")
        if key in result:
            raise ParseError(number, f"duplicate key {key!r}")
        result[key] = value
    return result
