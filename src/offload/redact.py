"""Redaction at the boundary: no secret ever reaches a log, the journal, an error body or a report.

Three layers: exact configured secret values, secret-bearing header / field names, and key-shaped strings
(``sk-...``, ``sk-ant-...``, bearer tokens, long hex/base64 tokens labelled as keys).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
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


#: Where each pattern above can start. Patterns 1–3 are tried only at the places ``str.find`` finds one of
#: their starts (``pattern.match(text, pos)``, replacing as ``re.sub`` would): a case-insensitive alternation
#: scanned ~70 ns per character (2.7 ms for the 80 KB a Claude Code request is, which mentions "token"
#: somewhere), a ``find`` costs well under 1 ns per character. Patterns 0 and 2 are case-sensitive and their
#: starts are looked up in the text itself; 1 and 3 in its lower-cased form (:func:`_lowered`, same length).
_NEEDS: tuple[tuple[str, ...], ...] = (
    ("sk-",),
    ("bearer",),
    ("ghp", "gho", "ghu", "ghs", "github_pat", "xox", "AKIA", "hf"),
    ("api", "secret", "token", "password"),
)
#: No pattern above can match fewer characters ("sk-" + 8; "token:" + 6 is 12; "bearer" + space + 8 is 15).
_SHORTEST_MATCH = 11
#: Characters Python's case-insensitive matching equates with an ASCII letter that ``lower()`` leaves alone or
#: lower-cases into two characters (U+0130 becomes "i̇"); U+212A lower-cases to "k" already.
_FOLD = (("\u0131", "i"), ("\u017f", "s"), ("\u0130", "i"))


#: For :meth:`Redactor.json_is_clean`, which reads UTF-8 JSON as bytes: in one scan, the case-sensitive gates
#: of patterns 0 and 2 and the four non-ASCII letters Python's case-insensitive matching equates with ASCII
#: ones (U+0130, U+0131, U+017F, U+212A in UTF-8: a document holding one takes the slow path); the words pattern 3 and secret field names are made of (``api`` must be followed by
#: ``[_-]?key``); and what may stand between such a word and the ``:`` / ``=`` that makes it dangerous —
#: anything but a letter or digit, a JSON escape (``\n``, ``\"``, ``\u000b``) counting as one character.
#: ``"max_tokens":16`` is therefore harmless ("token" is followed by "s"); ``"api_key":`` and
#: ``password = hunter2`` are not.
_JSON_CASED = re.compile(
    b"|".join(re.escape(w.encode()) for w in (*_NEEDS[0], *_NEEDS[2], "\u0130", "\u0131", "\u017f", "\u212a"))
)
_JSON_WORDS = (b"secret", b"token", b"password", b"authorization", b"cookie")
_JSON_API_TAIL = re.compile(rb"[_-]?key")
_JSON_UP_TO_ASSIGN = re.compile(rb"(?:[^a-z0-9_\\]|\\u[0-9a-f]{4}|\\.)*[:=]")
#: Characters JSON writes as escapes: a configured secret holding one may not appear verbatim in a document.
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')
#: Strings up to this long are remembered with their redacted form (model names, header values, details)...
_MEMO_MAX_LEN = 256
_MEMO_SIZE = 4096
#: ...and longer ones up to this many characters in all: a Claude Code request resends its 40 KB system prompt,
#: its tool descriptions and the whole conversation every time, and looking a string up costs one hash.
_LONG_MEMO_CHARS = 8_000_000
#: Joins many strings for one redaction pass (see :meth:`Redactor.texts`).
_SEP = "\x00"


def _lowered(value: str) -> str:
    """``value`` lower-cased, character for character (so positions stay those of ``value``), such that
    ``find`` locates wherever the ``(?i)`` patterns could start."""
    if value.isascii():
        return value.lower()
    for odd, plain in _FOLD:  # (str.translate costs ~10 us on a short non-ASCII text; these `in` checks do not)
        if odd in value:
            value = value.replace(odd, plain)
    return value.lower()


def _sub_at_starts(
    text: str, starts: tuple[str, ...], value: str, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str]
) -> str:
    """``pattern.sub(repl, value)``, trying the pattern only where ``text`` (``value`` or its aligned lower-cased
    form) holds one of ``starts`` — every match begins at one of those, so the result is the same: the
    leftmost matches, none overlapping, each replaced."""
    found: set[int] = set()
    for start in starts:
        i = text.find(start)
        while i >= 0:
            found.add(i)
            i = text.find(start, i + 1)
    if not found:
        return value
    out: list[str] = []
    done = 0
    for i in sorted(found):
        if i < done:
            continue
        m = pattern.match(value, i)
        if m is not None:
            out.append(value[done:i])
            out.append(repl(m))
            done = m.end()
    if not out:
        return value
    out.append(value[done:])
    return "".join(out)


def _mask(m: re.Match[str]) -> str:
    return MASK


def _mask_value(m: re.Match[str]) -> str:  # pattern 3: keep "api_key = ", mask what follows
    return m.group(1) + MASK


def _utf8(secrets: list[str]) -> list[bytes | None]:
    """The secrets as they appear in UTF-8 JSON (``None``: JSON would escape a character of it)."""
    return [None if _JSON_ESCAPED.search(s) else s.encode() for s in secrets]


class Redactor:
    """Removes known secret values and key-shaped strings from text and structures."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self._secrets_utf8 = _utf8(self._secrets)
        self._memo: dict[str, str] = {}
        self._long_memo: dict[str, str] = {}
        self._long_chars = 0

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)
            self._secrets_utf8 = _utf8(self._secrets)
            self._memo, self._long_memo, self._long_chars = {}, {}, 0

    def text(self, value: str) -> str:
        """Redact a string."""
        if not value:
            return value
        out = (self._memo if len(value) <= _MEMO_MAX_LEN else self._long_memo).get(value)
        if out is None:
            out = self._redact(value)
            self._remember(value, out)
        return out

    def texts(self, values: list[str]) -> list[str]:
        """Redact many strings, each exactly as :meth:`text` would: remembered ones are looked up, the others
        redacted in ONE pass over them joined with NUL separators and split back. Redaction never adds a NUL,
        and a rule that matches across one consumes it, so when the split gives back as many parts as went
        in, each part is that string's redaction; otherwise each is redacted on its own."""
        out = list(values)
        missed: list[int] = []
        for i, value in enumerate(values):
            if value:
                hit = (self._memo if len(value) <= _MEMO_MAX_LEN else self._long_memo).get(value)
                if hit is None:
                    missed.append(i)
                else:
                    out[i] = hit
        if not missed:
            return out
        leaves = [values[i] for i in missed]
        joined = _SEP.join(leaves)
        parts = self._redact(joined).split(_SEP) if joined.count(_SEP) == len(leaves) - 1 else []
        if len(parts) != len(leaves):
            parts = [self._redact(leaf) for leaf in leaves]
        for i, leaf, redacted in zip(missed, leaves, parts, strict=True):
            out[i] = redacted
            self._remember(leaf, redacted)
        return out

    def _remember(self, value: str, redacted: str) -> None:
        if len(value) <= _MEMO_MAX_LEN:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[value] = redacted
            return
        if self._long_chars + len(value) > _LONG_MEMO_CHARS:
            self._long_memo.clear()
            self._long_chars = 0
        if len(value) <= _LONG_MEMO_CHARS // 8:
            self._long_memo[value] = redacted
            self._long_chars += len(value)

    def _redact(self, value: str) -> str:
        for s in self._secrets:
            if s in value:
                value = value.replace(s, MASK)
        return self._patterns(value)

    def json_is_clean(self, doc: bytes) -> bool:
        """True only when redacting the tree that the UTF-8 JSON document ``doc`` encodes would change nothing.

        A cheap, conservative test (``False`` means "maybe", not "yes"): every leaf string of the tree appears
        in ``doc`` as itself, except for the characters JSON escapes, so the substring gates of the patterns
        run on the whole document once, and pattern 3 and secret field names are looked for as one of their
        words followed by non-alphanumeric characters or escapes up to a ``:`` or ``=``.
        """
        for s in self._secrets_utf8:
            if s is None or s in doc:
                return False
        if _JSON_CASED.search(doc) is not None:
            return False
        low = doc.lower()  # ASCII letters only: no other character matches one case-insensitively
        if b"bearer" in low:
            return False
        after = _JSON_UP_TO_ASSIGN.match
        i = low.find(b"api")
        while i >= 0:
            tail = _JSON_API_TAIL.match(low, i + 3)
            if tail is not None and after(low, tail.end()) is not None:
                return False
            i = low.find(b"api", i + 3)
        for word in _JSON_WORDS:
            i = low.find(word)
            while i >= 0:
                if after(low, i + len(word)) is not None:
                    return False
                i = low.find(word, i + len(word))
        return True

    @staticmethod
    def _patterns(value: str) -> str:
        if len(value) < _SHORTEST_MATCH:
            return value
        if _NEEDS[0][0] in value:  # a literal prefix: the regex engine itself scans for it fast
            value = _PATTERNS[0].sub(MASK, value)
        low = _lowered(value)
        redacted = _sub_at_starts(low, _NEEDS[1], value, _PATTERNS[1], _mask)
        redacted = _sub_at_starts(redacted, _NEEDS[2], redacted, _PATTERNS[2], _mask)
        if redacted is not value:  # (the same object when nothing was replaced)
            low = _lowered(redacted)
        return _sub_at_starts(low, _NEEDS[3], redacted, _PATTERNS[3], _mask_value)

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
