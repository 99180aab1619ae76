"""Custom models: write an Ollama Modelfile and create the model through the backend.

``offload modelfile --from MODEL --system FILE [--param k=v]`` renders a Modelfile whose parameters are
checked against the ones Ollama accepts (name and value type); ``offload create NAME --modelfile FILE``
parses it and sends Ollama's ``POST /api/create`` (``{"model", "from", "system", "parameters", ...}``),
following the streamed status lines until ``success``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from offload.errors import BackendUnavailable, InvalidRequest, MalformedResponse, UnknownModel, UpstreamHTTPError

if TYPE_CHECKING:
    from offload.engine import Engine

__all__ = ["PARAMETERS", "Modelfile", "create_model", "create_payload", "parse_modelfile", "parse_param",
           "render_modelfile"]  # fmt: skip

#: Parameters Ollama accepts (``api.Options`` and ``api.Runner``) and their value types.
PARAMETERS: dict[str, type] = {
    "num_ctx": int, "num_batch": int, "num_gpu": int, "main_gpu": int, "use_mmap": bool, "num_thread": int,
    "num_keep": int, "seed": int, "num_predict": int, "top_k": int, "top_p": float, "min_p": float,
    "typical_p": float, "repeat_last_n": int, "temperature": float, "repeat_penalty": float,
    "presence_penalty": float, "frequency_penalty": float, "stop": str,
}  # fmt: skip
_INSTRUCTIONS = ("FROM", "PARAMETER", "SYSTEM", "TEMPLATE", "ADAPTER", "LICENSE", "MESSAGE", "REQUIRES")
_NAME = re.compile(
    r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]{0,79}(?::[A-Za-z0-9][A-Za-z0-9._-]{0,79})?$"
)


def parse_param(key: str, raw: str) -> Any:
    """A parameter value converted to its type; unknown names and bad values raise :class:`InvalidRequest`."""
    kind = PARAMETERS.get(key)
    if kind is None:
        close = difflib.get_close_matches(key, PARAMETERS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InvalidRequest(f"{key!r} is not a Modelfile parameter Ollama knows",
                             hint=hint + "valid: " + ", ".join(sorted(PARAMETERS)))  # fmt: skip
    raw = raw.strip()
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false"):
                raise ValueError
            return raw.lower() == "true"
        if kind is str:
            if not raw:
                raise ValueError
            return json.loads(raw) if raw.startswith('"') else raw
        return kind(raw)
    except ValueError:
        raise InvalidRequest(f"parameter {key} needs a {kind.__name__} value, got {raw!r}") from None


def _quoted(text: str) -> str:
    if '"""' in text:
        raise InvalidRequest('the text contains """, which a Modelfile cannot hold',
                             hint='replace """ in the system prompt with another quote')  # fmt: skip
    return f'"""{text}"""'


def render_modelfile(
    base: str, *, system: str | None = None, params: Sequence[str] = (), template: str | None = None
) -> str:
    """A Modelfile for ``base`` with ``system``, ``params`` (``"key=value"`` strings) and ``template``."""
    if not base.strip() or any(c.isspace() for c in base.strip()):
        raise InvalidRequest(f"--from {base!r} is not a model name", hint="e.g. --from llama3.2 or qwen2.5-coder:7b")
    lines = [f"FROM {base.strip()}"]
    for item in params:
        if "=" not in item:
            raise InvalidRequest(f"--param {item!r} is not key=value", hint="e.g. --param temperature=0.2")
        key, raw = item.split("=", 1)
        value = parse_param(key.strip(), raw)
        shown = (
            json.dumps(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else value
        )
        lines.append(f"PARAMETER {key.strip()} {shown}")
    if template:
        lines.append(f"TEMPLATE {_quoted(template)}")
    if system:
        lines.append(f"SYSTEM {_quoted(system)}")
    return "\n".join(lines) + "\n"


@dataclass
class Modelfile:
    """A parsed Modelfile."""

    base: str = ""
    system: str | None = None
    template: str | None = None
    license: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, str]] = field(default_factory=list)
    adapters: list[str] = field(default_factory=list)


def _value(lines: list[str], i: int, rest: str) -> tuple[str, int]:
    """An argument: plain, ``"quoted"`` or ``\"\"\"multi-line\"\"\"``; returns it and the next line index."""
    if rest.startswith('"""'):
        body = rest[3:]
        if '"""' in body:
            return body[: body.index('"""')], i + 1
        parts = [body]
        for j in range(i + 1, len(lines)):
            if '"""' in lines[j]:
                parts.append(lines[j][: lines[j].index('"""')])
                return "\n".join(parts), j + 1
            parts.append(lines[j])
        raise InvalidRequest(f'Modelfile line {i + 1}: """ is never closed')
    if rest.startswith('"') and rest.endswith('"') and len(rest) > 1:
        return json.loads(rest), i + 1
    return rest, i + 1


def parse_modelfile(text: str) -> Modelfile:
    """Parse Modelfile text; unknown instructions and parameters are errors naming the line."""
    mf = Modelfile()
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line or line.startswith("#"):
            i += 1
            continue
        word, _, rest = line.partition(" ")
        instr, n = word.upper(), i + 1
        if instr not in _INSTRUCTIONS:
            raise InvalidRequest(f"Modelfile line {n}: unknown instruction {word!r}",
                                 hint="use " + ", ".join(_INSTRUCTIONS))  # fmt: skip
        value, i = _value(lines, i, rest.strip())
        if instr == "FROM":
            mf.base = value.strip()
        elif instr == "PARAMETER":
            key, _, raw = value.partition(" ")
            parsed = parse_param(key, raw)
            if key == "stop":
                mf.parameters.setdefault("stop", []).append(parsed)
            else:
                mf.parameters[key] = parsed
        elif instr in ("SYSTEM", "TEMPLATE", "LICENSE"):
            setattr(mf, instr.lower(), value)
        elif instr == "MESSAGE":
            role, _, content = value.partition(" ")
            if role not in ("system", "user", "assistant"):
                raise InvalidRequest(f"Modelfile line {n}: MESSAGE role must be system, user or assistant")
            mf.messages.append({"role": role, "content": content})
        elif instr == "ADAPTER":
            mf.adapters.append(value)
    if not mf.base:
        raise InvalidRequest("the Modelfile has no FROM line", hint="add e.g. FROM llama3.2")
    return mf


def create_payload(name: str, mf: Modelfile) -> dict[str, Any]:
    """The ``/api/create`` request body for ``mf`` (models by name only; files need ``ollama create``)."""
    if not _NAME.match(name):
        raise InvalidRequest(
            f"{name!r} is not a valid model name", hint="use letters, digits, . _ - and an optional :tag"
        )
    if mf.adapters or mf.base.startswith((".", "/", "~")) or mf.base.endswith((".gguf", ".bin")):
        raise InvalidRequest("the Modelfile builds from a local file (FROM path / ADAPTER), which needs its blobs "
                             "uploaded first", hint="run `ollama create NAME -f Modelfile` on the Ollama host")  # fmt: skip
    body: dict[str, Any] = {"model": name, "from": mf.base, "stream": True}
    for key in ("system", "template", "license"):
        if getattr(mf, key) is not None:
            body[key] = getattr(mf, key)
    if mf.parameters:
        body["parameters"] = mf.parameters
    if mf.messages:
        body["messages"] = mf.messages
    return body


async def _stream_create(b: Any, name: str, body: dict[str, Any], on_status: Callable[[str], None] | None) -> str:
    last = ""
    async with b.stream_request("POST", "/api/create", json=body) as resp:
        async for line in resp.aiter_lines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedResponse(f"ollama answered /api/create with a non-JSON line: {line[:120]!r}",
                                        backend=b.name) from exc  # fmt: skip
            if isinstance(obj, dict) and isinstance(obj.get("error"), str):
                raise UpstreamHTTPError(f"ollama could not create {name!r}: {obj['error']}", status=400,
                                        body=obj["error"], backend=b.name,
                                        hint="check the FROM model is installed (`offload models`) and the parameters")  # fmt: skip
            last = str(obj.get("status", "")) if isinstance(obj, dict) else ""
            if on_status and last:
                on_status(last)
    return last


async def create_model(
    engine: Engine, name: str, modelfile_text: str, *, backend: str | None = None,
    on_status: Callable[[str], None] | None = None,
) -> str:  # fmt: skip
    """Create ``name`` from the Modelfile on an Ollama backend (the first one unless ``backend`` is given)."""
    body = create_payload(name, parse_modelfile(modelfile_text))
    names = [backend] if backend else [n for n, b in engine.config.backends.items() if b.kind == "ollama"]
    if not names:
        raise InvalidRequest("no Ollama backend is configured; only Ollama can create models",
                             hint='add [backends.ollama] kind = "ollama" base_url = "http://localhost:11434"')  # fmt: skip
    b = engine.backend(names[0])
    create = getattr(b, "create", None)
    if callable(create):  # a backend that implements creation itself
        return str(await create(body))
    if b.kind != "ollama":
        raise InvalidRequest(f"backend {b.name!r} ({b.kind}) cannot create models", hint="use an Ollama backend")
    last = ""
    try:
        last = await _stream_create(b, name, body, on_status)
    except UpstreamHTTPError as exc:
        if exc.status == 404:
            raise UnknownModel(f"cannot create {name!r}: the base model {body['from']!r} is not on backend {b.name!r}",
                               hint=f"pull it first: `ollama pull {body['from']}`", backend=b.name) from exc  # fmt: skip
        raise
    if last != "success":
        raise BackendUnavailable(f"ollama stopped creating {name!r} before success (last status: {last or 'none'})",
                                 backend=b.name, hint="check the Ollama server log and retry")  # fmt: skip
    return last
