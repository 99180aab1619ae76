"""The parser."""


def parse(text: str) -> dict[str, str]:
    result = {}
    for line in text.splitlines():
        key, value = line.split("=")
        result[key] = value
    return result
