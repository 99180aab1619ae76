"""Redaction at the boundary: no secret ever reaches a log, the journal, an error body or a report.

Three layers: exact configured secret values, secret-bearing header / field names, and key-shaped strings
(``sk-...``, ``sk-ant-...``, bearer tokens, long hex/base64 tokens labelled as keys).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"

SECRET_HEADERS = frozenset(
    {"authorization", "x-api-key", "api-key", "proxy-authorization", "cookie", "set-cookie", "x-goog-api-key"}
)
_SECRET_FIELD = re.compile(r"(?i)(^|[_-])(api[_-]?key|secret|password|token|authorization)$")

_PATTERNS = [
    re.compile(r"sk-(?:ant-|proj-|or-|live-)?[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]{8,}"),
    re.compile(r"\b(?:ghp|gho|ghu|ghs|github_pat|xox[abpr]|AKIA|hf)_?[A-Za-z0-9_]{16,}\b"),
    re.compile(r"(?i)((?:api[_-]?key|secret|token|password)[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]{6,})"),
]


#: What each pattern above needs to possibly match, checked with ``in`` before running it (regex scans with
#: case-insensitive alternations cost ~40 µs per 500 characters; these checks cost ~1 µs). The patterns at
#: index 0 and 2 are case-sensitive and gated on the text itself; 1 and 3 on its lower-cased form.
_NEEDS: tuple[tuple[str, ...], ...] = (
    ("sk-",),
    ("bearer",),
    ("ghp", "gho", "ghu", "ghs", "github_pat", "xox", "AKIA", "hf"),
    ("api", "secret", "token", "password"),
)
#: No pattern above can match fewer characters ("sk-" + 8; "token:" + 6 is 12; "bearer" + space + 8 is 15).
_SHORTEST_MATCH = 11
#: Characters Python's case-insensitive matching equates with an ASCII letter, left as they are by ``lower()``
#: (U+0130 and U+212A lower-case to "i̇" and "k" already).
_FOLD = (("\u0131", "i"), ("\u017f", "s"))


#: What :meth:`Redactor.json_is_clean` must not find in a lower-cased JSON document: a word that pattern 3 or a
#: secret field name starts with, then only characters that are not letters or digits (a JSON escape such as
#: ``\n``, ``\"`` or ``\u000b`` counts as one of those) up to a ``:`` or ``=``. ``"max_tokens":16`` does not
#: match ("token" is followed by "s"); ``"api_key":`` and ``password = hunter2`` do.
_JSON_KEYWORD = re.compile(
    r"(?:api[_-]?key|secret|token|password|authorization|cookie)(?:[^a-z0-9_\\]|\\u[0-9a-f]{4}|\\.)*[:=]"
)
#: Characters JSON writes as escapes: a configured secret holding one may not appear verbatim in a document.
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')
#: Strings up to this long are remembered with their redacted form (model names, header values, details).
_MEMO_MAX_LEN = 256
_MEMO_SIZE = 4096


def _lowered(value: str) -> str:
    """``value`` lower-cased so that ``in`` finds whatever the ``(?i)`` patterns could match."""
    low = value.lower()
    if not value.isascii():  # (str.translate costs ~10 us on a short non-ASCII text; two `in` checks do not)
        for odd, plain in _FOLD:
            if odd in low:
                low = low.replace(odd, plain)
    return low


class Redactor:
    """Removes known secret values and key-shaped strings from text and structures."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self._memo: dict[str, str] = {}

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)
            self._memo = {}

    def text(self, value: str) -> str:
        """Redact a string."""
        if not value:
            return value
        if len(value) > _MEMO_MAX_LEN:
            return self._redact(value)
        memo = self._memo
        out = memo.get(value)
        if out is None:
            out = self._redact(value)
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[value] = out
        return out

    def _redact(self, value: str) -> str:
        for s in self._secrets:
            if s in value:
                value = value.replace(s, MASK)
        return self._patterns(value)

    def json_is_clean(self, doc: str) -> bool:
        """True only when redacting the tree that the JSON text ``doc`` encodes would change nothing.

        A cheap, conservative test (``False`` means "maybe", not "yes"): every leaf string of the tree appears
        in ``doc`` as itself, except for characters JSON escapes, so the substring gates of the patterns run
        on the whole document, and pattern 3 and secret field names are looked for as a keyword followed by
        non-alphanumeric characters or escapes up to ``:`` / ``=``.
        """
        for s in self._secrets:
            if s in doc or _JSON_ESCAPED.search(s):
                return False
        if "sk-" in doc or any(w in doc for w in _NEEDS[2]):
            return False
        low = _lowered(doc if doc.isascii() else doc.replace("\u0130", "i"))
        return "bearer" not in low and _JSON_KEYWORD.search(low) is None

    @staticmethod
    def _patterns(value: str) -> str:
        if len(value) < _SHORTEST_MATCH:
            return value
        low = _lowered(value)
        if any(w in value for w in _NEEDS[0]):
            value = _PATTERNS[0].sub(MASK, value)
        if any(w in low for w in _NEEDS[1]):
            value = _PATTERNS[1].sub(MASK, value)
        if any(w in value for w in _NEEDS[2]):
            value = _PATTERNS[2].sub(MASK, value)
        if any(w in low for w in _NEEDS[3]):
            value = _PATTERNS[3].sub(lambda m: m.group(1) + MASK, value)
        return value

    def exact(self, value: str) -> str:
        """Replace only the configured secret values (for opaque data such as base64 images)."""
        for s in self._secrets:
            if s in value:
                value = value.replace(s, MASK)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Redact a header mapping (secret-bearing header names are masked whole)."""
        return {k: (MASK if k.lower() in SECRET_HEADERS else self.text(v)) for k, v in headers.items()}

    def obj(self, value: Any) -> Any:
        """Redact any JSON-like structure recursively (fields named like secrets are masked whole)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            if value.get("type") == "image" and isinstance(value.get("data"), str):
                # base64 image data: only exact configured secrets, never the key-shaped patterns
                # (they match by chance inside base64 and would corrupt the image)
                rest = {k: self.obj(v) for k, v in value.items() if k != "data"}
                return {**rest, "data": self.exact(value["data"])}
            out = {}
            for k, v in value.items():
                if (
                    isinstance(k, str)
                    and isinstance(v, str)
                    and (_SECRET_FIELD.search(k) or k.lower() in SECRET_HEADERS)
                    and not k.endswith("_env")
                ):
                    out[k] = MASK
                else:
                    out[k] = self.obj(v)
            return out
        if isinstance(value, list | tuple):
            return [self.obj(v) for v in value]
        return value


_default = Redactor()


def default_redactor() -> Redactor:
    """The process-wide redactor; configured secrets are added when the config loads."""
    return _default


def redact(value: str) -> str:
    """Redact a string with the process-wide redactor."""
    return _default.text(value)
