"""Canonical request / response / stream types.

Every dialect (OpenAI, Anthropic, Ollama) is translated into these at the edge, and every backend speaks
only these. Nothing here knows about HTTP or any provider's wire format.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "cancelled"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class TextPart(_Model):
    """A piece of text inside a message."""

    type: Literal["text"] = "text"
    text: str


class ImagePart(_Model):
    """An image, as base64 ``data`` with a ``media_type`` (or a ``url`` for backends that fetch)."""

    type: Literal["image"] = "image"
    media_type: str = "image/png"
    data: str | None = None
    url: str | None = None


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ToolCall(_Model):
    """A call to a tool requested by the model. ``arguments`` is the parsed JSON object."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)

    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)


class Message(_Model):
    """One turn of the conversation.

    ``role="tool"`` messages carry a tool result for ``tool_call_id``; assistant messages may carry
    ``tool_calls``.
    """

    role: Role
    content: list[ContentPart] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False

    @classmethod
    def text(cls, role: Role, text: str) -> Message:
        return cls(role=role, content=[TextPart(text=text)])

    @property
    def text_content(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def images(self) -> list[ImagePart]:
        return [p for p in self.content if isinstance(p, ImagePart)]


class ToolSpec(_Model):
    """A tool the model may call: name, description and a JSON schema for its arguments."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ResponseFormat(_Model):
    """What shape the answer must have: free text, any JSON, or JSON valid against ``json_schema``."""

    type: Literal["text", "json", "json_schema"] = "text"
    json_schema: dict[str, Any] | None = None
    name: str | None = None


class ChatRequest(_Model):
    """A chat request in offload's canonical form."""

    model: str = "auto"
    messages: list[Message]
    system: str | None = None
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_choice: Literal["auto", "none", "required"] | str | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    max_tokens: int | None = None
    stop: list[str] = Field(default_factory=list)
    response_format: ResponseFormat = Field(default_factory=ResponseFormat)
    stream: bool = False
    #: Backend-specific options passed through untouched (e.g. Ollama ``num_ctx``, ``keep_alive``).
    options: dict[str, Any] = Field(default_factory=dict)
    #: Routing hints and caller metadata (``kind``, ``client``, ``dialect`` ...). Never sent upstream.
    metadata: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_prompt(cls, prompt: str, *, model: str = "auto", system: str | None = None, **kw: Any) -> ChatRequest:
        return cls(model=model, system=system, messages=[Message.text("user", prompt)], **kw)

    @property
    def has_images(self) -> bool:
        return any(m.images for m in self.messages)

    def all_text(self) -> str:
        """System prompt and every text part, joined: used for token estimates and classification."""
        parts = [self.system or ""]
        for m in self.messages:
            parts.append(m.text_content)
            for c in m.tool_calls:
                parts.append(c.arguments_json())
        return "\n".join(p for p in parts if p)


class Usage(_Model):
    """Token counts of one call."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class Timings(_Model):
    """Wall-clock timings of one call, in seconds."""

    ttft_s: float | None = None
    total_s: float = 0.0
    tokens_per_s: float | None = None


class Attempt(_Model):
    """One try of one candidate in a route, as recorded in the journal."""

    n: int
    backend: str
    model: str
    status: Literal["ok", "rejected", "error", "skipped", "cancelled"] = "ok"
    verdict: Literal["verified", "unverified", "failed", "not_run"] = "not_run"
    detail: str = ""
    latency_s: float = 0.0
    usage: Usage = Field(default_factory=Usage)


class ChatResponse(_Model):
    """A finished answer in offload's canonical form."""

    id: str = ""
    model: str
    backend: str = ""
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: FinishReason = "stop"
    usage: Usage = Field(default_factory=Usage)
    timings: Timings = Field(default_factory=Timings)
    journal_id: str | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    verdict: Literal["verified", "unverified", "failed", "not_run"] = "not_run"
    #: Why the route stopped where it did (cascade explanation).
    route_reason: str = ""
    raw: dict[str, Any] | None = Field(default=None, exclude=True, repr=False)


class TextDelta(_Model):
    """A piece of generated text."""

    type: Literal["text"] = "text"
    text: str


class ToolCallEvent(_Model):
    """A complete tool call (backends accumulate argument fragments before emitting it)."""

    type: Literal["tool_call"] = "tool_call"
    call: ToolCall


class StreamEnd(_Model):
    """The final event of a stream: the whole response with usage and timings."""

    type: Literal["end"] = "end"
    response: ChatResponse


StreamEvent = Annotated[TextDelta | ToolCallEvent | StreamEnd, Field(discriminator="type")]


class EmbedResult(_Model):
    """Embeddings for a list of inputs."""

    model: str
    embeddings: list[list[float]]
    usage: Usage = Field(default_factory=Usage)


class ModelInfo(_Model):
    """A model a backend reports (``list_models``), with whatever it tells about it."""

    name: str
    backend: str
    size_bytes: int | None = None
    vram_bytes: int | None = None
    context_window: int | None = None
    family: str | None = None
    quantization: str | None = None
    expires_at: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class HealthStatus(_Model):
    """Whether a backend answers, how fast, and how to fix it when it does not."""

    backend: str
    ok: bool
    latency_s: float | None = None
    detail: str = ""
    hint: str | None = None


class PullProgress(_Model):
    """One progress event of a model pull."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


def estimate_tokens(text: str) -> int:
    """A fast, tokenizer-free estimate (~4 characters per token) used where no tokenizer is at hand."""
    return max(1, (len(text) + 3) // 4) if text else 0
