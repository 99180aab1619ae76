"""Helpers shared by the three dialects: strict JSON loading and small field validators.

Everything here raises :class:`~offload.errors.InvalidRequest` with a message that names the field and says
what would be accepted; nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

import orjson

from offload.errors import InvalidRequest, OffloadError
from offload.redact import default_redactor

#: JSON deeper than this is refused (real requests, tool schemas included, stay far below).
MAX_JSON_DEPTH = 100
#: The largest ``max_tokens`` any dialect accepts (larger values are clearly a mistake).
MAX_OUTPUT_TOKENS = 1_048_576
#: Content types accepted for JSON bodies.
JSON_TYPES = ("application/json",)


#: Characters ``str.splitlines`` breaks lines at that JSON may carry raw, as their UTF-8 bytes and escapes. The
#: official SDKs read NDJSON and event streams with ``splitlines``, so written raw they would cut a JSON line
#: in two (Ollama's own server escapes U+2028 and U+2029 too). Only string contents can hold them.
_LINE_BREAKS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"), (b"\xc2\x85", b"\\u0085"))


def dumps(obj: Any) -> bytes:
    """Serialise ``obj`` to compact UTF-8 JSON bytes (orjson: ~5x the standard library on the hot path), with
    the Unicode line breaks ``str.splitlines`` honours escaped, so that every client reads one JSON per line."""
    out = orjson.dumps(obj)
    if not out.isascii():
        for raw, escaped in _LINE_BREAKS:
            if raw in out:
                out = out.replace(raw, escaped)
    return out


def dumps_str(obj: Any) -> str:
    return dumps(obj).decode()


def loads(data: bytes | str) -> Any:
    """Parse JSON text (raises ``ValueError`` on invalid input, ``RecursionError`` on absurd nesting)."""
    return orjson.loads(data)


def _depth_exceeds(obj: Any, limit: int) -> bool:
    """Whether parsed JSON nests deeper than ``limit`` (walked level by level; parsed JSON holds exact dicts and
    lists, so exact type checks do)."""
    level: list[Any] = [obj]
    depth = 1
    while level:
        if depth > limit:
            return True
        deeper: list[Any] = []
        for node in level:
            kind = type(node)
            if kind is not dict and kind is not list:
                continue
            for value in node.values() if kind is dict else node:
                if type(value) is dict or type(value) is list:
                    deeper.append(value)
        level = deeper
        depth += 1
    return False


def history_arguments(text: str) -> dict[str, Any]:
    """Tool-call arguments from conversation history: a JSON object, or kept verbatim (``_raw``) when a model
    wrote broken JSON (``_value`` when it wrote JSON that is not an object)."""
    try:
        val = loads(text) if text.strip() else {}
    except ValueError:
        return {"_raw": text}
    return val if isinstance(val, dict) else {"_value": val}


def loads_object(body: bytes, *, what: str = "request body") -> dict[str, Any]:
    """Parse a request body that must be one JSON object, refusing empty, invalid and too-deep input."""
    if not body or not body.strip():
        raise InvalidRequest(f"the {what} is empty", hint='send a JSON object, e.g. {"model": ..., "messages": [...]}')
    # Cheap pre-check: without enough brackets the document cannot be too deep.
    brackets = body.count(b"[") + body.count(b"{")
    try:
        data = loads(body)
    except RecursionError:
        raise InvalidRequest(
            f"the {what} is nested too deeply", hint=f"JSON may be nested at most {MAX_JSON_DEPTH} levels"
        ) from None
    except ValueError as exc:  # JSONDecodeError (both libraries) and UnicodeDecodeError
        msg = str(exc)
        if "recursion" in msg.lower() or "depth" in msg.lower():
            raise InvalidRequest(
                f"the {what} is nested too deeply", hint=f"JSON may be nested at most {MAX_JSON_DEPTH} levels"
            ) from None
        raise InvalidRequest(f"the {what} is not valid JSON: {msg[:200]}", hint="check the JSON syntax") from None
    if not isinstance(data, dict):
        raise InvalidRequest(f"the {what} must be a JSON object, not {type_name(data)}")
    if brackets > MAX_JSON_DEPTH and _depth_exceeds(data, MAX_JSON_DEPTH):
        raise InvalidRequest(
            f"the {what} is nested too deeply", hint=f"JSON may be nested at most {MAX_JSON_DEPTH} levels"
        )
    return data


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _bad(field: str, expected: str, value: Any) -> InvalidRequest:
    return InvalidRequest(f"{field}: expected {expected}, got {type_name(value)}", param=field)


def req_str(d: Mapping[str, Any], key: str, where: str = "", *, allow_empty: bool = False) -> str:
    field = f"{where}{key}"
    if key not in d or d[key] is None:
        raise InvalidRequest(f"{field}: this field is required", param=field)
    v = d[key]
    if not isinstance(v, str):
        raise _bad(field, "a string", v)
    if not allow_empty and not v.strip():
        raise InvalidRequest(f"{field}: must not be empty", param=field)
    return v


def opt_str(d: Mapping[str, Any], key: str, where: str = "") -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise _bad(f"{where}{key}", "a string", v)
    return v


def opt_bool(d: Mapping[str, Any], key: str, where: str = "", default: bool | None = None) -> bool | None:
    v = d.get(key)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise _bad(f"{where}{key}", "true or false", v)
    return v


def opt_int(
    d: Mapping[str, Any], key: str, where: str = "", *, lo: int | None = None, hi: int | None = None
) -> int | None:
    v = d.get(key)
    if v is None:
        return None
    field = f"{where}{key}"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise _bad(field, "an integer", v)
    if lo is not None and v < lo:
        raise InvalidRequest(f"{field}: must be at least {lo}, got {v}", param=field)
    if hi is not None and v > hi:
        raise InvalidRequest(f"{field}: must be at most {hi}, got {v}", param=field)
    return v


def opt_float(
    d: Mapping[str, Any], key: str, where: str = "", *, lo: float | None = None, hi: float | None = None
) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    field = f"{where}{key}"
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _bad(field, "a number", v)
    v = float(v)
    if v != v or (lo is not None and v < lo) or (hi is not None and v > hi):
        raise InvalidRequest(f"{field}: must be between {lo} and {hi}, got {v}", param=field)
    return v


def max_tokens_field(d: Mapping[str, Any], key: str, *, required: bool = False) -> int | None:
    """``max_tokens``-style fields: a positive integer no larger than :data:`MAX_OUTPUT_TOKENS`."""
    if required and d.get(key) is None:
        raise InvalidRequest(f"{key}: this field is required", param=key)
    v = opt_int(d, key, lo=1, hi=MAX_OUTPUT_TOKENS)
    return v


def opt_list(d: Mapping[str, Any], key: str, where: str = "") -> list[Any] | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, list):
        raise _bad(f"{where}{key}", "an array", v)
    return v


def opt_dict(d: Mapping[str, Any], key: str, where: str = "") -> dict[str, Any] | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, dict):
        raise _bad(f"{where}{key}", "an object", v)
    return v


def stop_list(value: Any, field: str, *, max_items: int = 16) -> list[str]:
    """A stop parameter: one string or an array of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        if len(value) > max_items:
            raise InvalidRequest(f"{field}: at most {max_items} stop sequences are allowed", param=field)
        return [s for s in value if s]
    raise _bad(field, "a string or an array of strings", value)


_B64_RE = re.compile(rb"^[A-Za-z0-9+/\s]*={0,2}\s*$")


def check_base64(data: Any, field: str) -> str:
    """Validate base64 image data (standard alphabet, correct padding); returns it without whitespace."""
    if not isinstance(data, str) or not data.strip():
        raise InvalidRequest(f"{field}: expected base64-encoded image data", param=field)
    raw = data.encode("ascii", "replace")
    if not _B64_RE.match(raw):
        raise InvalidRequest(
            f"{field}: the image data is not valid base64",
            param=field,
            hint="encode the image bytes with standard base64 (A-Z, a-z, 0-9, +, /)",
        )
    compact = b"".join(raw.split())
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(
            f"{field}: the image data is not valid base64",
            param=field,
            hint="check the padding and that the whole image was encoded",
        ) from None
    if not decoded:
        raise InvalidRequest(f"{field}: the image is empty", param=field)
    return compact.decode()


_DATA_URL = re.compile(r"^data:(?P<mt>[\w.+-]+/[\w.+-]+)?(?:;[\w-]+=[^;,]*)*;base64,(?P<data>.*)$", re.S)


def parse_data_url(url: str, field: str) -> tuple[str, str]:
    """Split a ``data:<type>;base64,<data>`` URL into (media_type, base64 data), validating the data."""
    m = _DATA_URL.match(url)
    if not m:
        raise InvalidRequest(f"{field}: expected a data:image/...;base64,... URL or an http(s) URL", param=field)
    return (m.group("mt") or "image/png"), check_base64(m.group("data"), field)


#: File-system paths (home directories, system and temp roots, Windows drives) — never shown to callers.
_PATH_RE = re.compile(
    r"(?:[A-Za-z]:\\|~/|/(?:home|Users|root|tmp|var|opt|usr|etc|mnt|srv|private|Volumes|data|work|proc|run)/)"
    r"[^\s'\",;:)\]}]*"
)


def public_message(exc: OffloadError | str) -> str:
    """An error message safe to show a caller: secrets redacted and file-system paths removed."""
    text = str(exc)
    text = default_redactor().text(text)
    return _PATH_RE.sub("<path>", text)


def json_schema_dict(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(field, "a JSON schema object", value)
    return value


_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


def tool_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _TOOL_NAME.match(value):
        raise InvalidRequest(
            f"{field}: tool names must be 1-128 characters of letters, digits, '_', '-', '.' or ':'", param=field
        )
    return value
